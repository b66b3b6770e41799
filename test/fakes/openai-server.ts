import type { ServerResponse } from 'node:http';
import { type FakeResponse, HttpFake, type RecordedRequest } from './http-fake.js';

/** A chat completion request as the fake received it (the fields tests assert on). */
export interface ChatRequest {
  readonly model: string;
  readonly messages: { role: string; content?: unknown; tool_calls?: unknown; tool_call_id?: string }[];
  readonly tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  readonly tool_choice?: unknown;
  readonly stream?: boolean;
  readonly stream_options?: { include_usage?: boolean };
  readonly [field: string]: unknown;
}

/** Token counts reported in `usage`. */
export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
}

/** One scripted tool call; `arguments` may be an object (sent as its JSON) or a raw string. */
export interface ScriptedToolCall {
  readonly name: string;
  readonly arguments: unknown;
  readonly id?: string;
}

/**
 * What the fake model answers to one request:
 * - `{ content }`: a plain answer (`finish_reason: stop`); streamed in `chunks` (default: by word);
 * - `{ toolCalls }`: tool calls (`finish_reason: tool_calls`), with optional `content`;
 * - `{ error: status }`: an OpenAI-style error body (`retryAfter` seconds adds `Retry-After`);
 * - `{ fault: 'hang' }`: never answer (until the client aborts or the fake closes); `'reset'`: drop the connection.
 * `delayMs` delays an answer. Raw HTTP faults (any status, any body) go through `fake.http.fail(...)`.
 */
export type ChatReply =
  | {
      readonly content: string;
      readonly chunks?: readonly string[];
      readonly finishReason?: string;
      readonly usage?: Usage;
      readonly delayMs?: number;
    }
  | {
      readonly toolCalls: readonly ScriptedToolCall[];
      readonly content?: string;
      readonly usage?: Usage;
      readonly delayMs?: number;
    }
  | {
      readonly error: number;
      readonly message?: string;
      readonly code?: string;
      readonly retryAfter?: number;
    }
  | { readonly fault: 'hang' | 'reset' };

/** A reply, or a function of the request (and its index among chat requests) giving one. */
export type ChatScript =
  | ChatReply
  | ((request: ChatRequest, index: number) => ChatReply | Promise<ChatReply>);

const DEFAULT_USAGE: Usage = { prompt_tokens: 10, completion_tokens: 5 };

/**
 * An OpenAI-compatible `POST /v1/chat/completions` on 127.0.0.1. Replies come from a queue
 * ({@link reply}), then from the default script ({@link setDefault}); every request body is kept
 * ({@link chatRequests}) so tests can assert on the messages and tools the model was sent.
 * Point clients at {@link baseUrl} (`http://127.0.0.1:P/v1`).
 */
export class OpenAiFake {
  private readonly queue: ChatScript[] = [];
  private fallback: ChatScript = { content: 'ok' };
  private counter = 0;

  private constructor(readonly http: HttpFake) {}

  static async start(): Promise<OpenAiFake> {
    let self: OpenAiFake | undefined;
    const http = await HttpFake.start((req, res) => (self as OpenAiFake).handle(req, res));
    self = new OpenAiFake(http);
    return self;
  }

  /** `http://127.0.0.1:P/v1`, for `configuration.baseURL` / `OPENAI_BASE_URL`. */
  get baseUrl(): string {
    return `${this.http.url}/v1`;
  }

  /** Queues replies for the next requests, in order. */
  reply(...scripts: ChatScript[]): this {
    this.queue.push(...scripts);
    return this;
  }

  /** The reply once the queue is empty (default: `{ content: 'ok' }`). */
  setDefault(script: ChatScript): this {
    this.fallback = script;
    return this;
  }

  /** The parsed bodies of every chat completion request, in order. */
  chatRequests(): ChatRequest[] {
    return this.http.requestsTo('/v1/chat/completions').map((r) => JSON.parse(r.body) as ChatRequest);
  }

  /** Raw recorded requests (headers included). */
  get requests(): readonly RecordedRequest[] {
    return this.http.requests;
  }

  reset(): this {
    this.queue.length = 0;
    this.counter = 0;
    this.fallback = { content: 'ok' };
    this.http.reset();
    return this;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async handle(req: RecordedRequest, res: ServerResponse): Promise<FakeResponse | undefined> {
    if (req.method !== 'POST' || req.path !== '/v1/chat/completions')
      return { status: 404, body: { error: { message: 'not found', type: 'invalid_request_error' } } };
    const body = JSON.parse(req.body) as ChatRequest;
    const index = this.counter++;
    const script = this.queue.shift() ?? this.fallback;
    const reply = typeof script === 'function' ? await script(body, index) : script;
    if ('fault' in reply) {
      if (reply.fault === 'reset') {
        res.socket?.destroy();
        return undefined;
      }
      return new Promise<undefined>((resolve) => res.on('close', () => resolve(undefined)));
    }
    if ('delayMs' in reply && reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if ('error' in reply) {
      return {
        status: reply.error,
        headers: reply.retryAfter === undefined ? {} : { 'retry-after': String(reply.retryAfter) },
        body: {
          error: {
            message: reply.message ?? `fake error ${reply.error}`,
            type: reply.error === 401 ? 'invalid_request_error' : 'api_error',
            code: reply.code ?? (reply.error === 401 ? 'invalid_api_key' : null),
            param: null,
          },
        },
      };
    }
    const id = `chatcmpl-fake-${index}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model;
    const usage = reply.usage ?? DEFAULT_USAGE;
    const usageBody = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
    const toolCalls =
      'toolCalls' in reply
        ? reply.toolCalls.map((c, i) => ({
            id: c.id ?? `call_${index}_${i}`,
            type: 'function',
            function: {
              name: c.name,
              arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
            },
          }))
        : undefined;
    const content = reply.content ?? null;
    const finishReason = toolCalls ? 'tool_calls' : ('finishReason' in reply && reply.finishReason) || 'stop';
    if (!body.stream) {
      return {
        body: {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
              logprobs: null,
              finish_reason: finishReason,
            },
          ],
          usage: usageBody,
        },
      };
    }
    const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(frame([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    const pieces =
      'chunks' in reply && reply.chunks ? reply.chunks : content ? (content.match(/\S+\s*/g) ?? []) : [];
    for (const piece of pieces)
      res.write(frame([{ index: 0, delta: { content: piece }, finish_reason: null }]));
    toolCalls?.forEach((call, i) => {
      res.write(
        frame([
          {
            index: 0,
            delta: {
              tool_calls: [
                {
                  index: i,
                  id: call.id,
                  type: 'function',
                  function: { name: call.function.name, arguments: '' },
                },
              ],
            },
            finish_reason: null,
          },
        ]),
      );
      res.write(
        frame([
          {
            index: 0,
            delta: { tool_calls: [{ index: i, function: { arguments: call.function.arguments } }] },
            finish_reason: null,
          },
        ]),
      );
    });
    res.write(frame([{ index: 0, delta: {}, finish_reason: finishReason }]));
    if (body.stream_options?.include_usage) res.write(frame([], { usage: usageBody }));
    res.end('data: [DONE]\n\n');
    return undefined;
  }
}
