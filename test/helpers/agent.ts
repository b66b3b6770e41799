import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatReply, ChatRequest } from '../fakes/openai-server.js';
import { OpenAiFake } from '../fakes/openai-server.js';
import { OsmFake } from '../fakes/osm-server.js';
import { RealtyFake } from '../fakes/realty-server.js';
import { authHeaders, startTestApp, type TestApp } from './app.js';
import { type Json, jsonOf } from './http.js';
import { TEST_SECRETS } from './secrets.js';

/** Which agent loop a chat request comes from, told by the tools it offers the model. */
export type Role =
  | 'orchestrator'
  | 'property_research'
  | 'financial_analysis'
  | 'location_analysis'
  | 'report_writer'
  | 'market_trends'
  | 'unknown';

export function roleOf(req: ChatRequest): Role {
  const names = new Set(req.tools?.map((t) => t.function.name) ?? []);
  if (names.has('delegate')) return 'orchestrator';
  if (names.has('search_homes_for_sale')) return 'property_research';
  if (names.has('mortgage_payment')) return 'financial_analysis';
  if (names.has('geocode')) return 'location_analysis';
  if (names.has('save_report')) return 'report_writer';
  if (names.has('search_market_trends')) return 'market_trends';
  return 'unknown';
}

/** The text of a message's content. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((b) => (b as { text?: string }).text ?? '').join('');
  return '';
}

/** The request's system prompt. */
export function systemOf(req: ChatRequest): string {
  return contentText(req.messages.find((m) => m.role === 'system')?.content);
}

/** The last message's role and text (a tool result when the model is reading one). */
export function lastOf(req: ChatRequest): { role: string; text: string } {
  const m = req.messages[req.messages.length - 1];
  return { role: m?.role ?? '', text: contentText(m?.content) };
}

/** A scripted model answering each role: `(req, role, afterTool)` gives the reply. */
export function byRole(
  script: (req: ChatRequest, role: Role, afterTool: boolean) => ChatReply,
): (req: ChatRequest) => ChatReply {
  return (req) => script(req, roleOf(req), lastOf(req).role === 'tool');
}

/**
 * The usual listing search: the orchestrator delegates to property research, which searches,
 * and both answer with what the tool returned (the first listing's address and price).
 */
export const searchScript = (args: Record<string, unknown>, task = '3-bed homes in Austin, TX under 500k') =>
  byRole((req, role, afterTool) => {
    if (role === 'orchestrator') {
      if (!afterTool)
        return { toolCalls: [{ name: 'delegate', arguments: { assistant: 'property_research', task } }] };
      return { content: `Here is what I found: ${lastOf(req).text}` };
    }
    if (role === 'property_research') {
      if (!afterTool) return { toolCalls: [{ name: 'search_homes_for_sale', arguments: args }] };
      const found = JSON.parse(lastOf(req).text) as { listings?: { address: string; price: number }[] };
      const first = found.listings?.[0];
      return { content: first ? `Top match: ${first.address} at $${first.price}` : 'No listings found.' };
    }
    return { content: 'ok' };
  });

/** The fakes an agent test talks to, and the service on them. */
export interface AgentWorld {
  readonly openai: OpenAiFake;
  readonly realty: RealtyFake;
  readonly osm: OsmFake;
  readonly t: TestApp;
  readonly dataDir: string;
  chat(
    body: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Json }>;
  metrics(): Promise<Json>;
  close(): Promise<void>;
}

/** Starts the fakes and a service whose agent is the real one, pointed at them. */
export async function startAgentWorld(env: Record<string, string> = {}): Promise<AgentWorld> {
  const [openai, realty, osm] = await Promise.all([
    OpenAiFake.start(),
    RealtyFake.start({ apiKey: TEST_SECRETS.rapidApiKey }),
    OsmFake.start(),
  ]);
  const dataDir = mkdtempSync(join(tmpdir(), 'agent-data-'));
  const t = await startTestApp({
    agent: 'configured',
    env: {
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: TEST_SECRETS.openAiKey,
      OPENAI_MODEL: 'gpt-fake',
      RAPIDAPI_KEY: TEST_SECRETS.rapidApiKey,
      REALTY_API_BASE_URL: realty.url,
      NOMINATIM_BASE_URL: osm.url,
      OVERPASS_BASE_URL: osm.url,
      DATA_DIR: dataDir,
      UPSTREAM_RETRY_BASE_DELAY_MS: '10',
      UPSTREAM_RETRY_MAX_DELAY_MS: '50',
      RATE_LIMIT_POINTS: '1000',
      LLM_RESERVOIR: '0',
      REALTY_RESERVOIR: '0',
      ...env,
    },
  });
  return {
    openai,
    realty,
    osm,
    t,
    dataDir,
    async chat(body, headers = {}) {
      const res = await fetch(`${t.baseUrl}/v1/chat`, {
        method: 'POST',
        headers: { ...authHeaders(), ...headers },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: await jsonOf(res) };
    },
    async metrics() {
      return jsonOf(await fetch(`${t.opsUrl}/metrics`));
    },
    async close() {
      await t.stop();
      await Promise.all([openai.close(), realty.close(), osm.close()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
