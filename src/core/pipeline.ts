import { createHash, randomUUID } from 'node:crypto';
import type { IdempotencyStore } from '../dedup/idempotency-store.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import { AppError, type RateLimitState, toAppError, typeOf } from './errors.js';
import type { Agent, InboundMessage, Reply } from './message.js';

/** Options for one message. */
export interface HandleOptions {
  /** Client-chosen key: a retried message with the same key gets the first answer. */
  readonly idempotencyKey?: string;
  /** Aborts the agent run when the caller goes away. */
  readonly signal?: AbortSignal;
  /** Stream the answer's text as it is produced. */
  readonly onToken?: (text: string) => void;
  /** Called once the rate limit is decided, whatever comes after (for response headers). */
  readonly onRateLimit?: (state: RateLimitState) => void;
  /** The adapter's logger for this request (so its request id stays on every line); the core's otherwise. */
  readonly logger?: Logger;
}

/** Dependencies of {@link MessagePipeline}. */
export interface PipelineOptions {
  readonly agent: Agent;
  readonly rateLimiter: RateLimiter;
  readonly idempotency: IdempotencyStore<Reply>;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  readonly agentTimeoutMs: number;
  readonly idempotencyTtlSeconds: number;
  /** Aborted when the service shuts down and in-flight work must stop. */
  readonly shutdownSignal?: AbortSignal;
}

const IDEMPOTENCY_SCOPE = 'idem';
const POLL_MS = 100;

/** A short, stable, non-reversible label for a user id in logs and traces. */
export function hashUserId(userId: string): string {
  return createHash('sha256').update(userId).digest('hex').slice(0, 16);
}

/**
 * The path every message takes, whatever platform it came from: per-user rate limit,
 * idempotency, the agent under a time budget with an AbortSignal, metrics and logs.
 */
export class MessagePipeline {
  private readonly o: PipelineOptions;
  private readonly local = new Map<string, Promise<Reply>>();

  constructor(options: PipelineOptions) {
    this.o = options;
  }

  /** Answers one message, or throws an {@link AppError} with a stable code. */
  async handle(message: InboundMessage, options: HandleOptions = {}): Promise<Reply> {
    const started = performance.now();
    const traceId = randomUUID();
    const log = (options.logger ?? this.o.logger).child({
      trace_id: traceId,
      platform: message.platform,
      user: hashUserId(message.userId),
      conversation_id: message.conversationId,
    });
    this.o.metrics.trackInflight(1);
    try {
      const state = await this.o.rateLimiter
        .consume({
          key: message.userId,
          platform: message.platform,
          tenant: message.tenant,
        })
        .catch((err: unknown) => {
          const e = toAppError(err);
          if ('state' in e) options.onRateLimit?.((e as { state: RateLimitState }).state);
          throw e;
        });
      options.onRateLimit?.(state);
      const reply = options.idempotencyKey
        ? await this.idempotent(message, options.idempotencyKey, traceId, log, options)
        : await this.run(message, traceId, log, options);
      const seconds = (performance.now() - started) / 1000;
      this.o.metrics.recordRequest(message.platform, seconds);
      log.info({ duration_ms: Math.round(seconds * 1000), cached: reply.cached }, 'message answered');
      return reply;
    } catch (err) {
      const e = toAppError(err);
      const seconds = (performance.now() - started) / 1000;
      this.o.metrics.recordRequest(message.platform, seconds, typeOf(e.code));
      const level = e.status >= 500 ? (e.code === 'internal' ? 'error' : 'warn') : 'info';
      log[level](
        {
          code: e.code,
          duration_ms: Math.round(seconds * 1000),
          err: e.code === 'internal' ? e.cause : undefined,
        },
        'message failed',
      );
      throw e;
    } finally {
      this.o.metrics.trackInflight(-1);
    }
  }

  private async idempotent(
    message: InboundMessage,
    key: string,
    traceId: string,
    log: Logger,
    options: HandleOptions,
  ): Promise<Reply> {
    const id = `${message.userId}:${key}`;
    const fingerprint = createHash('sha256')
      .update(`${message.conversationId}\u0000${message.text}`)
      .digest('hex')
      .slice(0, 32);
    const sameProcess = this.local.get(id);
    if (sameProcess) return { ...(await sameProcess), cached: true };

    const store = this.o.idempotency;
    const pendingTtlMs = this.o.agentTimeoutMs + 30_000;
    const claim = await store.claim(IDEMPOTENCY_SCOPE, id, fingerprint, pendingTtlMs);
    if (claim.status !== 'claimed') {
      if (claim.fingerprint !== fingerprint) throw new AppError('idempotency_key_reused');
      if (claim.status === 'done') {
        log.info('idempotent replay');
        return { ...claim.result, cached: true };
      }
      return this.awaitOther(id, fingerprint, options.signal);
    }
    const task = this.run(message, traceId, log, options);
    this.local.set(id, task);
    try {
      const reply = await task;
      await store.complete(IDEMPOTENCY_SCOPE, id, fingerprint, reply, this.o.idempotencyTtlSeconds * 1000);
      return reply;
    } catch (err) {
      await store.release(IDEMPOTENCY_SCOPE, id);
      throw err;
    } finally {
      this.local.delete(id);
    }
  }

  /** Another instance runs this key: wait for its answer within the agent's time budget. */
  private async awaitOther(id: string, fingerprint: string, signal?: AbortSignal): Promise<Reply> {
    const deadline = Date.now() + this.o.agentTimeoutMs;
    while (Date.now() < deadline && !signal?.aborted) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const found = await this.o.idempotency.peek(IDEMPOTENCY_SCOPE, id);
      if (found?.status === 'done' && found.fingerprint === fingerprint)
        return { ...found.result, cached: true };
      if (found === undefined) break;
    }
    throw new AppError(
      'idempotency_in_progress',
      'A request with this Idempotency-Key is still in progress; retry later',
    );
  }

  private async run(
    message: InboundMessage,
    traceId: string,
    log: Logger,
    options: HandleOptions,
  ): Promise<Reply> {
    const timeout = AbortSignal.timeout(this.o.agentTimeoutMs);
    const signals = [timeout];
    if (options.signal) signals.push(options.signal);
    if (this.o.shutdownSignal) signals.push(this.o.shutdownSignal);
    const signal = AbortSignal.any(signals);
    if (signal.aborted) throw this.abortError(timeout, signal);

    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.abortError(timeout, signal));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      // The agent should honour the signal; the race makes sure a misbehaving one cannot hold us past the budget.
      const answer = await Promise.race([
        this.o.agent.answer(message, { signal, traceId, logger: log, onToken: options.onToken }),
        aborted,
      ]);
      return {
        text: answer.text,
        conversationId: message.conversationId,
        traceId,
        cached: answer.cached ?? false,
      };
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  private abortError(timeout: AbortSignal, signal: AbortSignal): AppError {
    if (timeout.aborted) return new AppError('agent_timeout');
    if (this.o.shutdownSignal?.aborted) return new AppError('shutting_down');
    return new AppError('client_closed_request', undefined, { cause: signal.reason });
  }
}
