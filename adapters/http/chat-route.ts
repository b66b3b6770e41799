import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toAppError } from '../../src/core/errors.js';
import type { InboundMessage, Reply } from '../../src/core/message.js';
import type { Logger } from '../../src/logging/logger.js';
import { problemOf, setRateLimitHeaders } from './problem.js';
import type { HttpDeps } from './server.js';

/** The body of `POST /v1/chat`. */
export interface ChatBody {
  message: string;
  user_id?: string;
  conversation_id?: string;
}

/** JSON schema of the chat body (also used in the OpenAPI document). */
export function chatBodySchema(maxChars: number) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['message'],
    properties: {
      message: { type: 'string', minLength: 1, maxLength: maxChars, pattern: '\\S' },
      user_id: { type: 'string', pattern: '^[A-Za-z0-9._@:-]{1,128}$' },
      conversation_id: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
    },
  } as const;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const HEARTBEAT_MS = 15_000;

function wantsStream(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').toLowerCase().includes('text/event-stream');
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !IDEMPOTENCY_KEY.test(raw)) {
    throw new AppError('invalid_header', 'Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return raw;
}

/** Turns an HTTP request into the core's message. */
function toMessage(request: FastifyRequest<{ Body: ChatBody }>): InboundMessage {
  const key = request.apiKey;
  if (!key) throw new AppError('unauthorized');
  const body = request.body;
  return {
    platform: 'http',
    userId: `http:${key.name}:${body.user_id ?? 'default'}`,
    conversationId: body.conversation_id ?? `conv_${randomUUID()}`,
    text: body.message,
    tenant: key.name,
  };
}

function replyBody(r: Reply) {
  return { reply: r.text, conversation_id: r.conversationId, trace_id: r.traceId, cached: r.cached };
}

/** Server-sent events: `token` frames as the answer is produced, then `done` (or `error`). */
class EventStream {
  private started = false;
  private heartbeat: NodeJS.Timeout | undefined;
  constructor(
    private readonly reply: FastifyReply,
    private readonly request: FastifyRequest,
  ) {}

  get isStarted(): boolean {
    return this.started;
  }

  /** Sends the response head (status 200 and the headers set so far) on first use. */
  private start(): void {
    if (this.started) return;
    this.started = true;
    this.reply.hijack();
    const headers = { ...this.reply.getHeaders() } as Record<string, string>;
    this.reply.raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    this.heartbeat = setInterval(() => this.reply.raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  send(event: string, data: unknown): void {
    this.start();
    if (!this.reply.raw.writableEnded)
      this.reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    clearInterval(this.heartbeat);
    if (this.started && !this.reply.raw.writableEnded) this.reply.raw.end();
    this.request.log.debug('event stream closed');
  }
}

/** `POST /v1/chat` (JSON or server-sent events) and a 405 for its other methods. */
export function registerChatRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.post<{ Body: ChatBody }>(
    '/v1/chat',
    { schema: { body: chatBodySchema(deps.config.env.MESSAGE_MAX_CHARS) } },
    async (request, reply) => {
      const idempotencyKey = idempotencyKeyOf(request);
      const message = toMessage(request);
      // The run is cancelled when the client goes away (shutdown reaches it through the pipeline).
      let cancelRun: ((reason: unknown) => void) | undefined;
      let gone: Error | undefined;
      const onClose = () => {
        if (reply.raw.writableFinished) return;
        gone = new Error('client went away');
        cancelRun?.(gone);
      };
      reply.raw.on('close', onClose);
      const stream = wantsStream(request) ? new EventStream(reply, request) : undefined;
      let streamed = false;
      request.reachedPipeline = true;
      try {
        const answer = await deps.pipeline.handle(message, {
          idempotencyKey,
          onCancel: (cancel) => {
            cancelRun = cancel;
            if (gone) cancel(gone); // left before the run started
          },
          logger: request.log as Logger,
          onRateLimit: (state) => {
            request.rateLimited = state;
            setRateLimitHeaders(reply, state, false);
          },
          onToken: stream
            ? (text) => {
                streamed = true;
                stream.send('token', { text });
              }
            : undefined,
        });
        reply.header('x-trace-id', answer.traceId);
        if (!stream) return replyBody(answer);
        if (!streamed) stream.send('token', { text: answer.text });
        stream.send('done', replyBody(answer));
        stream.end();
        return reply;
      } catch (err) {
        const e = toAppError(err);
        request.problemCode = e.code;
        if (e.code === 'rate_limited' && request.rateLimited)
          setRateLimitHeaders(reply, request.rateLimited, true);
        if (stream?.isStarted) {
          stream.send('error', problemOf(e));
          stream.end();
          return reply;
        }
        throw e;
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/v1/chat',
    handler: async (_request, reply) => {
      reply.header('allow', 'POST');
      throw new AppError('method_not_allowed', 'Use POST /v1/chat');
    },
  });
}
