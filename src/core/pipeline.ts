import { hash, randomUUID } from 'node:crypto';
import type { ClaimResult, IdempotencyStore } from '../dedup/idempotency-store.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import { DerivedContext } from './agent-context.js';
import { type AbortErrorOf, AgentRun } from './agent-run.js';
import { AppError, type RateLimitState, toAppError, typeOf } from './errors.js';
import type { Agent, InboundMessage, Reply } from './message.js';

/** Options for one message. */
export interface HandleOptions {
  /** Client-chosen key: a retried message with the same key gets the first answer. */
  readonly idempotencyKey?: string;
  /** Aborts the agent run when the caller goes away. */
  readonly signal?: AbortSignal;
  /**
   * A cheaper alternative to `signal` for hot paths: called once the run starts with a function
   * that cancels it (the HTTP adapter calls it when its client disconnects).
   */
  readonly onCancel?: (cancel: (reason: unknown) => void) => void;
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
const NO_OPTIONS: HandleOptions = {};

/** An idempotency claim under way: sent to the store, or already running in this process. */
interface PendingClaim {
  readonly id: string;
  readonly fingerprint: string;
  readonly claim: Promise<ClaimResult<Reply>> | undefined;
  readonly sameProcess: LocalRun | undefined;
}

/** A keyed message running in this process, and the request it answers. */
interface LocalRun {
  readonly fingerprint: string;
  readonly task: Promise<Reply>;
}
const POLL_MS = 100;

/** A short, stable, non-reversible label for a user id in logs and traces. */
export function hashUserId(userId: string): string {
  return hash('sha256', userId, 'hex').slice(0, 16);
}

/**
 * A message's logger, made on first use. pino's child() runs every binding through the redaction
 * paths, one of the costliest steps of the hot path: at levels that drop the pipeline's lines, and
 * with an agent that does not log, it is never made. The lines written are those of an eager child.
 */
class MessageLog {
  private made: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly traceId: string,
    private readonly message: InboundMessage,
  ) {}

  /** The message's child logger (made now if it was not yet). */
  get logger(): Logger {
    this.made ??= this.parent.child({
      trace_id: this.traceId,
      platform: this.message.platform,
      user: hashUserId(this.message.userId),
      conversation_id: this.message.conversationId,
    });
    return this.made;
  }

  /** True when lines at `level` are written. */
  enabled(level: 'info' | 'warn' | 'error'): boolean {
    return this.parent.isLevelEnabled(level);
  }

  /** Writes one line at `level` when that level is on. */
  write(level: 'info' | 'warn' | 'error', obj: Record<string, unknown> | undefined, msg: string): void {
    if (!this.parent.isLevelEnabled(level)) return;
    if (obj) this.logger[level](obj, msg);
    else this.logger[level](msg);
  }
}

/**
 * The path every message takes, whatever platform it came from: per-user rate limit,
 * idempotency, the agent under a time budget with an AbortSignal, metrics and logs.
 */
export class MessagePipeline {
  private readonly o: PipelineOptions;
  private readonly local = new Map<string, LocalRun>();

  /** Cancel functions of the runs in flight: shutdown aborts them all through one listener. */
  private readonly active = new Set<(reason: unknown) => void>();
  private readonly abortErrorOf: AbortErrorOf = (timedOut, reason) => this.abortError(timedOut, reason);

  constructor(options: PipelineOptions) {
    this.o = options;
    options.shutdownSignal?.addEventListener(
      'abort',
      () => {
        for (const cancel of [...this.active]) cancel(options.shutdownSignal?.reason);
      },
      { once: true },
    );
  }

  /** Answers one message, or throws an {@link AppError} with a stable code. */
  async handle(message: InboundMessage, options: HandleOptions = NO_OPTIONS): Promise<Reply> {
    const started = performance.now();
    const traceId = randomUUID();
    const log = new MessageLog(options.logger ?? this.o.logger, traceId, message);
    this.o.metrics.trackInflight(1);
    // The idempotency claim goes to Redis together with the rate-limit check (one round trip of
    // latency instead of two); a claim made for a request that then turns out rate-limited is released.
    const idem = options.idempotencyKey ? this.claimFor(message, options.idempotencyKey) : undefined;
    // Likewise the agent's first reads (see Agent.prepare): dropped if the message is refused. A
    // key already running in this process is answered by that run: nothing to read.
    const prepared = idem?.sameProcess ? undefined : this.o.agent.prepare?.(message);
    try {
      let state: RateLimitState;
      try {
        state = await this.o.rateLimiter.consume({
          key: message.userId,
          platform: message.platform,
          tenant: message.tenant,
        });
      } catch (err) {
        throw await this.refused(err, idem, options);
      }
      options.onRateLimit?.(state);
      const reply = idem
        ? await this.idempotent(message, idem, traceId, log, options, prepared)
        : await this.run(message, traceId, log, options, prepared);
      const seconds = (performance.now() - started) / 1000;
      this.o.metrics.recordRequest(message.platform, seconds);
      if (log.enabled('info')) {
        log.write(
          'info',
          { duration_ms: Math.round(seconds * 1000), cached: reply.cached },
          'message answered',
        );
      }
      return reply;
    } catch (err) {
      const e = toAppError(err);
      const seconds = (performance.now() - started) / 1000;
      this.o.metrics.recordRequest(message.platform, seconds, typeOf(e.code));
      const level = e.status >= 500 ? (e.code === 'internal' ? 'error' : 'warn') : 'info';
      log.write(
        level,
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

  /** A message the rate limit refused (or could not decide): its claim is given up; the error to answer with. */
  private async refused(
    err: unknown,
    idem: PendingClaim | undefined,
    options: HandleOptions,
  ): Promise<AppError> {
    const e = toAppError(err);
    if ('state' in e) options.onRateLimit?.((e as { state: RateLimitState }).state);
    if (idem && (await idem.claim)?.status === 'claimed') {
      await this.o.idempotency.release(IDEMPOTENCY_SCOPE, idem.id);
    }
    return e;
  }

  /** Starts the idempotency claim of a message (or finds the same key running in this process). */
  private claimFor(message: InboundMessage, key: string): PendingClaim {
    const id = `${message.userId}:${key}`;
    const fingerprint = hash('sha256', `${message.conversationId}\u0000${message.text}`, 'hex').slice(0, 32);
    const sameProcess = this.local.get(id);
    const claim = sameProcess
      ? undefined
      : this.o.idempotency.claim(IDEMPOTENCY_SCOPE, id, fingerprint, this.o.agentTimeoutMs + 30_000);
    // Awaited later; never left to reject unobserved if the rate limit answers first.
    claim?.catch(() => undefined);
    return { id, fingerprint, claim, sameProcess };
  }

  private async idempotent(
    message: InboundMessage,
    idem: PendingClaim,
    traceId: string,
    log: MessageLog,
    options: HandleOptions,
    prepared: unknown,
  ): Promise<Reply> {
    const { id, fingerprint } = idem;
    if (idem.sameProcess || !idem.claim) {
      const running = idem.sameProcess ?? this.local.get(id);
      if (running) {
        // The same key with another request is a client bug, never a reason to hand over an answer.
        if (running.fingerprint !== fingerprint) throw new AppError('idempotency_key_reused');
        return { ...(await running.task), cached: true };
      }
    }
    const store = this.o.idempotency;
    const claim = await (idem.claim as Promise<ClaimResult<Reply>>);
    if (claim.status !== 'claimed') {
      if (claim.fingerprint !== fingerprint) throw new AppError('idempotency_key_reused');
      if (claim.status === 'done') {
        log.write('info', undefined, 'idempotent replay');
        return { ...claim.result, cached: true };
      }
      return this.awaitOther(id, fingerprint, options);
    }
    const task = this.run(message, traceId, log, options, prepared);
    this.local.set(id, { fingerprint, task });
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

  /**
   * Another instance runs this key: wait for its answer within the agent's time budget, and no
   * longer than the caller stays (its signal, its cancel) or the service runs.
   */
  private async awaitOther(id: string, fingerprint: string, options: HandleOptions): Promise<Reply> {
    const deadline = Date.now() + this.o.agentTimeoutMs;
    let cancelled: unknown;
    options.onCancel?.((reason) => {
      cancelled = reason ?? true;
    });
    const stopped = () =>
      options.signal?.aborted || this.o.shutdownSignal?.aborted || cancelled !== undefined;
    while (Date.now() < deadline && !stopped()) {
      await new Promise((r) => setTimeout(r, POLL_MS).unref());
      if (stopped()) break;
      const found = await this.o.idempotency.peek(IDEMPOTENCY_SCOPE, id);
      if (found?.status === 'done' && found.fingerprint === fingerprint)
        return { ...found.result, cached: true };
      if (found === undefined) break;
    }
    if (stopped()) throw this.abortError(false, options.signal?.reason ?? cancelled);
    throw new AppError(
      'idempotency_in_progress',
      'A request with this Idempotency-Key is still in progress; retry later',
    );
  }

  private async run(
    message: InboundMessage,
    traceId: string,
    log: MessageLog,
    options: HandleOptions,
    prepared: unknown,
  ): Promise<Reply> {
    const early = options.signal?.aborted
      ? options.signal
      : this.o.shutdownSignal?.aborted
        ? this.o.shutdownSignal
        : undefined;
    if (early) throw this.abortError(false, early.reason);

    // Shutdown reaches runs through one listener (see the constructor), not one per message.
    const run = new AgentRun(this.o.agentTimeoutMs, this.abortErrorOf, options.signal);
    this.active.add(run.abort);
    options.onCancel?.(run.abort);
    try {
      const answer = await run.settle(
        this.o.agent.answer(message, new DerivedContext(run.scope, traceId, log, options.onToken, prepared)),
      );
      return {
        text: answer.text,
        conversationId: message.conversationId,
        traceId,
        cached: answer.cached ?? false,
      };
    } finally {
      run.end();
      this.active.delete(run.abort);
    }
  }

  private abortError(timedOut: boolean, reason: unknown): AppError {
    if (timedOut) return new AppError('agent_timeout');
    if (this.o.shutdownSignal?.aborted) return new AppError('shutting_down');
    return new AppError('client_closed_request', undefined, { cause: reason });
  }
}
