import { abortReason } from '../core/abort.js';
import { AbortScope, type StopSource } from '../core/abort-scope.js';
import type { AbortControllerPool } from '../core/controller-pool.js';
import type { Logger } from '../logging/logger.js';
import type { TurnGate } from './turn-gate.js';

/** Why a run stopped before the model gave its final answer. */
export type StopReason = 'timeout' | 'max_steps' | 'repeated_calls' | 'token_budget';

/**
 * Thrown inside a run to stop it: the agent turns it into a plain answer for the user (not an
 * error response) and counts it (`timeout` as errors_by_type.timeout, the others as `llm`).
 */
export class RunStopped extends Error {
  readonly reason: StopReason;
  constructor(reason: StopReason, message?: string) {
    super(message ?? `agent run stopped: ${reason}`);
    this.name = 'RunStopped';
    this.reason = reason;
  }
}

/** One step of a run (a model call or a tool call): its own signal and deadline. */
export interface StepScope {
  /** Aborts when the run aborts or the step's time is up. */
  readonly stop: StopSource;
  /** The stop's AbortSignal, for code outside the core (made on first read). */
  readonly signal: AbortSignal;
  /** Epoch ms: the earlier of the step's and the run's deadline. */
  readonly deadline: number;
  /** True once the step's own timer fired (not the run's). */
  readonly timedOut: boolean;
  /** Clears the timer and the listener; call in `finally`. */
  dispose(): void;
}

/** What a run is made of. */
export interface AgentRunInit {
  readonly userId: string;
  /** When the message being answered began (epoch ms): writes of the user's data check it. */
  readonly messageStartedAt: number;
  readonly platform: string;
  readonly conversationId: string;
  readonly traceId: string;
  /** The message's logger (made on first use). */
  readonly logger: () => Logger;
  /** The caller's stop (client gone, pipeline time budget, shutdown): aborting it fails the run. */
  readonly parent: StopSource;
  /** The run's own time budget: when it runs out the run stops with a plain answer. */
  readonly budgetMs: number;
  /** Longest single step (model call or tool call). */
  readonly stepTimeoutMs: number;
  /** Tokens this run may still spend (the user's daily budget left); Infinity when unlimited. */
  readonly tokenAllowance: number;
  /** Told each time the model reports usage (the token budget counts it). */
  readonly onUsage?: (tokens: number) => void;
  /** Spreads model-call preparation over event-loop turns under bursts (see {@link TurnGate}). */
  readonly gate?: TurnGate;
  /** Debug lines are wanted (checked on the service logger, so the message's is not made for nothing). */
  readonly debug?: boolean;
  readonly now?: () => number;
  /** Where the run's AbortSignal comes from, and goes back to after a clean end (see {@link AgentRun.dispose}). */
  readonly signals?: AbortControllerPool;
}

/**
 * The reason a finished run's signal aborts with, made once: building a DOMException per message
 * (a stack capture and a WeakMap entry in Node's implementation) for a reason nothing reads was
 * the largest self-time item in CPU profiles of the slowest messages.
 */
const RUN_ENDED = new DOMException('the agent run ended', 'AbortError');

function timeoutError(message: string): DOMException {
  return new DOMException(message, 'TimeoutError');
}

/**
 * The state of one agent run, shared by the orchestrator, the subagents and the tools: who the
 * user is (never taken from model arguments), the run's AbortSignal and deadline, per-step
 * scopes, token usage, and whether anything user-specific went into the answer. One
 * {@link AbortScope} and one timer per run and per step, always cleared: nothing is left behind
 * when a run ends. The run's AbortSignal is made at its first model call; a tool step's only if
 * its tool reaches an upstream (a cache hit does not).
 */
export class AgentRun {
  readonly userId: string;
  readonly platform: string;
  readonly conversationId: string;
  readonly traceId: string;
  readonly deadline: number;
  /** When the message being answered began (epoch ms). */
  readonly messageStartedAt: number;
  /** Set by tools that read or write the user's own data (memory, reports). */
  userSpecific = false;
  /** Tokens the model reported for this run. */
  tokens = 0;
  /** Model calls made (orchestrator and subagents). */
  modelCalls = 0;
  /** True when debug lines are written. */
  readonly debug: boolean;
  private readonly init: AgentRunInit;
  /** Aborts when the caller aborts or the run's time budget is spent. */
  readonly scope: AbortScope;
  private readonly timer: NodeJS.Timeout;
  /** Stops listening to the caller's stop. */
  private readonly unfollow: () => void;
  /** The run's time is up: its budget ran out, or a model call used up its step time. */
  private timeUp = false;

  constructor(init: AgentRunInit) {
    this.init = init;
    this.userId = init.userId;
    this.platform = init.platform;
    this.conversationId = init.conversationId;
    this.traceId = init.traceId;
    this.messageStartedAt = init.messageStartedAt;
    this.debug = init.debug ?? false;
    this.scope = new AbortScope(init.signals);
    const now = init.now ?? Date.now;
    this.deadline = now() + init.budgetMs;
    this.unfollow = this.scope.follow(init.parent);
    this.timer = setTimeout(() => this.stopForTime('the agent run used up its time budget'), init.budgetMs);
  }

  /** The scope's AbortSignal, for model calls and fetches (made on first read). */
  get signal(): AbortSignal {
    return this.scope.signal;
  }

  get logger(): Logger {
    return this.init.logger();
  }

  /**
   * True when the run's time is up (the run answers plainly): its own budget ran out, or a model
   * call ran out of step time, which ends the run as well.
   */
  get timedOut(): boolean {
    return this.timeUp;
  }

  /** True when the caller gave up (the run fails with the caller's reason). */
  get parentAborted(): boolean {
    return this.init.parent.aborted;
  }

  /** Waits for this run's fair share of the event loop before CPU-heavy work (a model call). */
  fairTurn(): Promise<void> {
    return this.init.gate?.pass() ?? Promise.resolve();
  }

  /** Records that the user's own data went into this answer (it is never shared or cached). */
  markUserSpecific(): void {
    this.userSpecific = true;
  }

  /** Counts the tokens one model call reported. */
  addUsage(tokens: number): void {
    if (!(tokens > 0)) return;
    this.tokens += tokens;
    this.init.onUsage?.(tokens);
  }

  /**
   * Called before each model call: throws the caller's abort reason when it gave up, and
   * {@link RunStopped} when the time budget or the token allowance is spent.
   */
  beforeModelCall(): void {
    if (this.parentAborted) throw abortReason(this.init.parent);
    if (this.timeUp) throw new RunStopped('timeout');
    if (this.tokens >= this.init.tokenAllowance) throw new RunStopped('token_budget');
    this.modelCalls++;
  }

  /**
   * What to throw when a step failed because of an abort: the caller's reason, {@link RunStopped}
   * for the run's or the step's time budget; undefined when the failure was not an abort.
   */
  abortOutcome(step: StepScope): unknown {
    return this.stopOutcome() ?? (step.timedOut ? new RunStopped('timeout') : undefined);
  }

  /**
   * What to throw when the run itself is over: the caller's abort reason, or {@link RunStopped}
   * when its time budget ran out; undefined while it may go on.
   */
  stopOutcome(): unknown {
    if (this.parentAborted) return abortReason(this.init.parent);
    if (this.timeUp) return new RunStopped('timeout');
    return undefined;
  }

  /**
   * The scope of one model call: the run's own signal, and a timer when the step's time
   * (`AGENT_STEP_TIMEOUT_MS`) ends before the run's deadline. A model call that runs out of time
   * ends the whole run (see the agent), so the timer stops the run rather than a signal of the
   * step's own: no controller or listener per model call.
   */
  modelStep(): StepScope {
    const now = (this.init.now ?? Date.now)();
    const left = this.deadline - now;
    if (this.init.stepTimeoutMs >= left || this.scope.aborted) return new RunScope(this.scope, this.deadline);
    return new ModelCallScope(this, this.scope, now + this.init.stepTimeoutMs, this.init.stepTimeoutMs);
  }

  /** A scope for one step, bounded by `AGENT_STEP_TIMEOUT_MS` and the run's deadline. */
  step(): StepScope {
    const now = (this.init.now ?? Date.now)();
    const ms = Math.max(0, Math.min(this.init.stepTimeoutMs, this.deadline - now));
    return new ToolCallScope(this.scope, now + ms, ms);
  }

  /** Stops the run because its time is up (its budget, or a model call's step time). */
  stopForTime(message: string): void {
    if (this.scope.aborted) return;
    this.timeUp = true;
    this.scope.abort(timeoutError(message));
  }

  /**
   * Ends the run: clears its timer and its listener on the caller's signal, and aborts its signal
   * so that work still going (a parallel tool call beside one that failed the run) stops at once.
   * `clean`: the run ended with the model's final answer, so every call it made has settled
   * (each loop awaits all of its tool calls before the next model call); its signal then goes
   * back to the pool, if there is one, instead of aborting.
   */
  dispose(clean = false): void {
    clearTimeout(this.timer);
    this.unfollow();
    if (this.scope.aborted) return;
    if (clean) this.scope.end(RUN_ENDED);
    else this.scope.abort(RUN_ENDED);
  }
}

/*
 * The step scopes are small classes, not object literals with a `get timedOut()`: a literal
 * with a getter defines a fresh accessor on each object, which V8 cannot share between objects;
 * such an object and everything its getter's closure reaches (the run, the message, the model's
 * answers) outlived every young-generation GC until the next full one. With these classes and
 * DerivedContext (core/agent-context.ts), a message of the agent benchmark promotes 8.5 KB to the
 * old generation instead of 11.4 KB.
 */

/** The run's own scope and deadline (no timer of its own). */
class RunScope implements StepScope {
  readonly timedOut = false;
  constructor(
    readonly stop: AbortScope,
    readonly deadline: number,
  ) {}
  get signal(): AbortSignal {
    return this.stop.signal;
  }
  dispose(): void {}
}

/** A model call with a step timer that stops the whole run when it fires. */
class ModelCallScope implements StepScope {
  timedOut = false;
  private readonly timer: NodeJS.Timeout;
  constructor(
    run: AgentRun,
    readonly stop: AbortScope,
    readonly deadline: number,
    ms: number,
  ) {
    this.timer = setTimeout(onModelCallTimeout, ms, this, run);
  }
  get signal(): AbortSignal {
    return this.stop.signal;
  }
  dispose(): void {
    clearTimeout(this.timer);
  }
}

function onModelCallTimeout(scope: ModelCallScope, run: AgentRun): void {
  scope.timedOut = true;
  run.stopForTime('the step used up its time budget');
}

/** A tool call: a scope of its own that aborts with the run or when the step's time is up. */
class ToolCallScope implements StepScope {
  timedOut = false;
  readonly stop = new AbortScope();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unfollow: () => void;
  constructor(
    run: AbortScope,
    readonly deadline: number,
    ms: number,
  ) {
    this.unfollow = this.stop.follow(run);
    if (!this.stop.aborted) this.timer = setTimeout(onToolCallTimeout, ms, this);
  }
  get signal(): AbortSignal {
    return this.stop.signal;
  }
  /** The step's time is up: its scope aborts (the run goes on). */
  expire(): void {
    this.timedOut = true;
    this.stop.abort(timeoutError('the step used up its time budget'));
  }
  dispose(): void {
    clearTimeout(this.timer);
    this.unfollow();
  }
}

function onToolCallTimeout(scope: ToolCallScope): void {
  scope.expire();
}
