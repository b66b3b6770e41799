import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarketSearchFake } from '../fakes/market-search-server.js';
import type { ChatRequest } from '../fakes/openai-server.js';
import { type AgentWorld, byRole, lastOf, roleOf, startAgentWorld, systemOf } from '../helpers/agent.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

const QUESTION = 'How is the Austin housing market trending?';

/** The orchestrator delegates to market_trends, which searches once and cites the first result. */
const marketScript = byRole((req, role, afterTool) => {
  if (role === 'orchestrator') {
    if (!afterTool)
      return {
        toolCalls: [
          {
            name: 'delegate',
            arguments: { assistant: 'market_trends', task: 'Austin, TX housing market trend' },
          },
        ],
      };
    return { content: `Here is what I found: ${lastOf(req).text}` };
  }
  if (role === 'market_trends') {
    if (!afterTool)
      return {
        toolCalls: [{ name: 'search_market_trends', arguments: { query: 'Austin TX housing market trend' } }],
      };
    const found = JSON.parse(lastOf(req).text) as { results: { content: string; url: string }[] };
    const first = found.results[0];
    return { content: first ? `${first.content} (source: ${first.url})` : 'Nothing found.' };
  }
  return { content: 'ok' };
});

/** The `assistant` values the delegate tool offers, and the whole tool list as text. */
function delegateOffer(req: ChatRequest): { names: string[]; tools: string } {
  const delegate = req.tools?.find((t) => t.function.name === 'delegate');
  const params = delegate?.function.parameters as { properties: { assistant: { enum: string[] } } };
  return { names: params.properties.assistant.enum, tools: JSON.stringify(req.tools) };
}

describe('market trends with a web-search key', () => {
  let market: MarketSearchFake;
  let w: AgentWorld;
  beforeAll(async () => {
    market = await MarketSearchFake.start({ apiKey: TEST_SECRETS.marketSearchKey });
    w = await startAgentWorld({
      MARKET_SEARCH_API_KEY: TEST_SECRETS.marketSearchKey,
      MARKET_SEARCH_BASE_URL: market.url,
    });
  });
  afterAll(async () => {
    await w.close();
    await market.close();
  });

  it('offers market_trends; a question reaches the search once, then the cache', async () => {
    w.openai.setDefault(marketScript);
    const first = await w.chat({ message: QUESTION, user_id: 'u-market', conversation_id: 'c1' });
    expect(first.status).toBe(200);
    expect(first.json.reply).toContain('$452,000');
    expect(first.json.reply).toContain('https://market.example.com/austin/report');
    const requests = w.openai.chatRequests();
    expect(requests.map(roleOf)).toEqual(['orchestrator', 'market_trends', 'market_trends', 'orchestrator']);
    const orchestrator = requests[0] as ChatRequest;
    expect(delegateOffer(orchestrator).names).toContain('market_trends');
    expect(systemOf(orchestrator)).toContain('- market_trends: researches housing market trends');
    expect(market.searches).toHaveLength(1);
    expect(market.searches[0]?.headers.authorization).toBe(`Bearer ${TEST_SECRETS.marketSearchKey}`);
    expect(market.searchBodies()[0]).toMatchObject({
      query: 'Austin TX housing market trend',
      search_depth: 'basic',
    });

    // Asked again in the same conversation: the history makes the run personal, so the agent
    // runs again, and its search is answered by the market_search cache.
    const again = await w.chat({ message: QUESTION, user_id: 'u-market', conversation_id: 'c1' });
    expect(again.json).toMatchObject({ reply: first.json.reply, cached: false });
    expect(w.openai.chatRequests()).toHaveLength(8);
    expect(market.searches).toHaveLength(1);

    // Nothing personal: another user gets the stored answer without any model call.
    const other = await w.chat({ message: QUESTION, user_id: 'u-market-2' });
    expect(other.json).toMatchObject({ reply: first.json.reply, cached: true });
    expect(w.openai.chatRequests()).toHaveLength(8);
    expect(market.searches).toHaveLength(1);
    const health = (await (await fetch(`${w.t.opsUrl}/health`)).json()) as {
      checks: Record<string, { status: string }>;
    };
    expect(health.checks.market_search?.status).toBe('ok');
  });
});

describe('market trends without a web-search key', () => {
  let market: MarketSearchFake;
  let w: AgentWorld;
  beforeAll(async () => {
    market = await MarketSearchFake.start();
    w = await startAgentWorld({ MARKET_SEARCH_BASE_URL: market.url });
  });
  afterAll(async () => {
    await w.close();
    await market.close();
  });

  it('never offers it: not in the delegate tool, not in the prompt, and a try is refused', async () => {
    w.openai.setDefault(marketScript);
    const res = await w.chat({ message: QUESTION, user_id: 'u-no-market' });
    expect(res.status).toBe(200);
    const [orchestrator, second] = w.openai.chatRequests() as [ChatRequest, ChatRequest];
    const offer = delegateOffer(orchestrator);
    expect(offer.names).toEqual([
      'property_research',
      'financial_analysis',
      'location_analysis',
      'report_writer',
    ]);
    expect(offer.tools).not.toMatch(/market/i);
    expect(systemOf(orchestrator)).not.toMatch(/market/i);
    // The model asked for market_trends anyway: the call was refused, no subagent ran.
    expect(roleOf(second)).toBe('orchestrator');
    expect(lastOf(second).text).toMatch(/^Error: invalid arguments: .*assistant/s);
    expect(market.searches).toHaveLength(0);
    const health = (await (await fetch(`${w.t.opsUrl}/health`)).json()) as {
      status: string;
      checks: Record<string, { status: string }>;
    };
    expect(health.checks.market_search?.status).toBe('off');
  });
});
