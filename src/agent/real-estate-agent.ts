import type { Callbacks } from '@langchain/core/callbacks/manager';
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage } from '@langchain/core/messages';
import { RunnableLambda } from '@langchain/core/runnables';
import type { StructuredToolInterface } from '@langchain/core/tools';
import { abortReason } from '../core/abort.js';
import type { StopSource } from '../core/abort-scope.js';
import { DerivedContext } from '../core/agent-context.js';
import { AbortControllerPool } from '../core/controller-pool.js';
import type { ErrorType } from '../core/errors.js';
import type { Agent, AgentAnswer, AgentContext, InboundMessage } from '../core/message.js';
import { hashUserId } from '../core/pipeline.js';
import type { DataStore } from '../data/data-store.js';
import type { Logger } from '../logging/logger.js';
import type { ToolBackends } from '../tools/backends.js';
import type { AnswerCache } from './answer-cache.js';
import type { ConversationStore, Turn } from './conversation-store.js';
import type { ChatModels } from './model-factory.js';
import { orchestratorPrompts } from './prompts.js';
import { AgentRun, RunStopped, type StopReason } from './run-context.js';
import { buildSubagents, delegateTool } from './subagents.js';
import type { TokenBudget } from './token-budget.js';
import { type BoundModel, runToolLoop } from './tool-loop.js';
import { financeTools } from './tools/finance-tools.js';
import { locationTools } from './tools/location-tools.js';
import { marketTools } from './tools/market-tools.js';
import { memoryTools } from './tools/memory-tools.js';
import { propertyTools } from './tools/property-tools.js';
import { reportTools } from './tools/report-tools.js';
import type { Tracing } from './tracing.js';
import { TurnGate } from './turn-gate.js';
import type { Fact, UserMemory } from './user-memory.js';

/** Limits of every run. */
export interface AgentLimits {
  /** Model calls per loop (`AGENT_MAX_STEPS`). */
  readonly maxSteps: number;
  /** One model or tool call (`AGENT_STEP_TIMEOUT_MS`). */
  readonly stepTimeoutMs: number;
  /** The run's own budget: a little under the pipeline's, so a stopped run can still answer plainly. */
  readonly runBudgetMs: number;
}

/** Dependencies of {@link RealEstateAgent}, all given through the constructor. */
export interface RealEstateAgentOptions {
  readonly models: ChatModels;
  readonly backends: ToolBackends;
  readonly data: DataStore;
  readonly memory: UserMemory;
  readonly conversations: ConversationStore;
  readonly budget: TokenBudget;
  readonly answers: AnswerCache;
  readonly limits: AgentLimits;
  /** Counts stopped runs (`timeout`, `llm`, `rate_limit`). */
  readonly metrics: { recordErrorEvent(type: ErrorType): void };
  /** The `llm` upstream's health: `failing` while its last call failed. */
  readonly llmHealth: () => { readonly status: string };
  readonly tracing?: Tracing;
  /** Fairness under bursts; default: 8 runs start CPU-heavy work per event-loop turn. */
  readonly gate?: TurnGate;
  /** The service logger: its level decides whether debug lines are made at all. */
  readonly logger?: Logger;
}

/** How one run (or a reused answer) came out. */
interface Outcome {
  readonly text: string;
  readonly cached: boolean;
  /** Nothing user-specific went in and the run finished normally: the answer may be reused. */
  readonly shareable: boolean;
  /** The trace of the run that produced it. */
  readonly traceId: string;
}

const STOPPED_TEXT: Record<StopReason, (limits: AgentLimits) => string> = {
  timeout: (l) =>
    `Sorry, I ran out of time before I could finish (the limit is about ${Math.round(l.runBudgetMs / 1000)} seconds). ` +
    'Please try again, or ask something narrower.',
  max_steps: (l) =>
    `Sorry, I stopped after ${l.maxSteps} steps without reaching an answer. Please try a more specific ` +
    'question, for example a city, a price range and the number of bedrooms.',
  repeated_calls: () =>
    'Sorry, I kept repeating the same lookup without getting further, so I stopped. Please rephrase or narrow the question.',
  token_budget: () =>
    "Sorry, you have reached today's usage limit for the assistant, so I stopped here. It resets at midnight UTC.",
};

const STOP_METRIC: Record<StopReason, ErrorType> = {
  timeout: 'timeout',
  max_steps: 'llm',
  repeated_calls: 'llm',
  token_budget: 'rate_limit',
};

/** The reads a message's answer starts from (see {@link RealEstateAgent.prepare}). */
export class MessageReads {
  constructor(
    readonly message: InboundMessage,
    /** When the message began (epoch ms), before its reads: writes of the user's data check it. */
    readonly startedAt: number,
    /** The question's answer-cache entry. */
    readonly key: string,
    readonly values: Promise<[number, readonly Fact[], readonly Turn[], string | undefined]>,
  ) {}
}

/**
 * The real-estate agent: an orchestrator on LangChain tool calling that delegates to subagents
 * (property research, financial analysis, location analysis, report writing, and market trends
 * when a web-search key is configured) and keeps facts about the user. Per message: the daily
 * token budget is checked, the user's memory and the conversation's recent turns go into the
 * prompt, and the run is bounded by steps, time and tokens. A question asked with no memory and
 * no history may reuse (or join) another run's answer when nothing user-specific went into it.
 * With LangSmith on, the run's root trace id is the pipeline's trace id.
 */
export class RealEstateAgent implements Agent {
  private readonly o: RealEstateAgentOptions;
  private readonly orchestrator: BoundModel;
  private readonly orchestratorTools: ReadonlyMap<string, StructuredToolInterface>;
  private readonly systemPrompt: (memoryLines: string) => string;
  private readonly gate: TurnGate;
  /** The runs' AbortSignals, reused from one clean run to the next (see controller-pool.ts). */
  private readonly signals = new AbortControllerPool();

  constructor(options: RealEstateAgentOptions) {
    this.o = options;
    this.gate = options.gate ?? new TurnGate();
    const { realty, location, market } = options.backends;
    const subagents = buildSubagents(options.models.subagent, {
      property_research: propertyTools(realty),
      financial_analysis: financeTools(),
      location_analysis: locationTools(location),
      report_writer: reportTools(options.data),
      // Only with a web-search key: otherwise neither the delegate tool nor the prompt names it.
      ...(market.configured ? { market_trends: marketTools(market) } : {}),
    });
    const tools = [delegateTool(subagents, options.limits.maxSteps), ...memoryTools(options.memory)];
    this.orchestrator = options.models.orchestrator.bindTools(tools) as BoundModel;
    this.orchestratorTools = new Map(tools.map((t) => [t.name, t]));
    this.systemPrompt = orchestratorPrompts([...subagents.keys()]);
  }

  private get debug(): boolean {
    return this.o.logger?.isLevelEnabled('debug') ?? false;
  }

  /** `failing` while the model's last call failed (a bad key, a dead server), else `configured`. */
  status(): 'configured' | 'failing' {
    return this.o.llmHealth().status === 'failing' ? 'failing' : 'configured';
  }

  /**
   * Starts a message's reads while the pipeline checks its rate limit, so that the Redis reads
   * leave with that check (one round trip instead of two). In a burst (hundreds of messages in one
   * turn) only the gate's share of a turn does so; the others read in answer(), after the gate,
   * as one turn must not start them all.
   */
  prepare(message: InboundMessage): MessageReads | undefined {
    return this.gate.tryPass() ? this.startReads(message, Date.now()) : undefined;
  }

  /**
   * A message's reads, all at once: the token budget left, what is personal (memory, recent
   * turns), and (speculatively) a stored answer. Instances may share DATA_DIR, and a fact
   * remembered or forgotten ("forget me") through another instance must count from the next
   * message on: the data store reads the memory file unless Redis confirms, in this same round
   * trip, that its copy is current (data/memory-copies.ts).
   */
  private startReads(message: InboundMessage, startedAt: number): MessageReads {
    const key = this.o.answers.keyFor(message.text);
    const values = Promise.all([
      this.o.budget.remaining(message.userId),
      this.o.memory.facts(message.userId),
      this.o.conversations.recent(message.userId, message.conversationId),
      this.o.answers.get(key),
    ]);
    // A refused message never awaits them.
    values.catch(() => undefined);
    return new MessageReads(message, startedAt, key, values);
  }

  async answer(message: InboundMessage, context: AgentContext): Promise<AgentAnswer> {
    // The pipeline's scope when there is one: listening to it makes no AbortSignal.
    const stop: StopSource = context.scope ?? context.signal;
    if (stop.aborted) throw abortReason(stop);
    const prepared = context.prepared;
    let reads: MessageReads;
    if (prepared instanceof MessageReads && prepared.message === message) reads = prepared;
    else {
      const startedAt = Date.now();
      await this.gate.pass();
      reads = this.startReads(message, startedAt);
    }
    // From before the reads: "forget me" sent after them must still drop what this message saves.
    const { startedAt, key } = reads;
    const [allowance, facts, turns, stored] = await reads.values;
    let outcome: Outcome;
    if (facts.length > 0 || turns.length > 0)
      outcome = await this.execute(message, context, stop, allowance, facts, turns, startedAt);
    else {
      // Only now is the stored answer's lookup used: count it (a personal question never looks).
      this.o.answers.recordLookup(key, stored !== undefined);
      if (stored !== undefined)
        outcome = { text: stored, cached: true, shareable: true, traceId: context.traceId };
      else outcome = await this.shared(message, context, stop, allowance, key, startedAt);
    }
    // Not awaited: the reply need not wait for it. Commands on the one Redis connection run in
    // order, so this conversation's next message reads the turn. Dropped if the user asked to be
    // forgotten while this message ran.
    this.o.conversations
      .append(
        message.userId,
        message.conversationId,
        { user: message.text, assistant: outcome.text, at: Date.now() },
        startedAt,
      )
      .catch((err: unknown) => {
        context.logger.warn({ err: { message: (err as Error)?.message } }, 'conversation turn not saved');
      });
    return { text: outcome.text, cached: outcome.cached };
  }

  /**
   * A question with nothing user-specific around it: a stored answer is reused; otherwise
   * concurrent identical questions join one run. A joined run that turned out user-specific
   * (it remembered something, wrote a report) is not handed over: the joiner runs its own.
   */
  private async shared(
    message: InboundMessage,
    context: AgentContext,
    stop: StopSource,
    allowance: number,
    key: string,
    startedAt: number,
  ): Promise<Outcome> {
    const answers = this.o.answers;
    const fresh = answers.recentAnswer(key);
    if (fresh !== undefined) return { text: fresh, cached: true, shareable: true, traceId: context.traceId };
    const out = await answers.flight.run(
      key,
      async (scope) => {
        const leader = new DerivedContext(scope, context.traceId, context, context.onToken);
        const result = await this.execute(message, leader, scope, allowance, [], [], startedAt);
        if (result.shareable)
          answers.set(key, result.text).catch((err: unknown) => {
            context.logger.warn({ err: { message: (err as Error)?.message } }, 'answer not cached');
          });
        return result;
      },
      stop,
    );
    if (out.traceId === context.traceId) return out;
    if (out.shareable) {
      if (this.debug) context.logger.debug({ shared_trace_id: out.traceId }, 'joined an identical question');
      return { ...out, cached: true };
    }
    return this.execute(message, context, stop, allowance, [], [], startedAt);
  }

  /** One agent run: prompt, orchestrator loop (traced when LangSmith is on), budget accounting. */
  private async execute(
    message: InboundMessage,
    context: AgentContext,
    stop: StopSource,
    allowance: number,
    facts: readonly Fact[],
    turns: readonly Turn[],
    startedAt: number,
  ): Promise<Outcome> {
    const usage: Promise<void>[] = [];
    const run = new AgentRun({
      userId: message.userId,
      messageStartedAt: startedAt,
      platform: message.platform,
      conversationId: message.conversationId,
      traceId: context.traceId,
      logger: () => context.logger,
      parent: stop,
      budgetMs: this.o.limits.runBudgetMs,
      stepTimeoutMs: this.o.limits.stepTimeoutMs,
      tokenAllowance: allowance,
      gate: this.gate,
      debug: this.debug,
      signals: this.signals,
      onUsage: (tokens) =>
        usage.push(
          this.o.budget.add(message.userId, tokens).catch((err: unknown) => {
            context.logger.warn({ err: { message: (err as Error)?.message } }, 'token usage not counted');
          }),
        ),
    });
    if (facts.length > 0 || turns.length > 0) run.markUserSpecific();
    let clean = false;
    const messages: BaseMessage[] = [new SystemMessage(this.systemPrompt(this.o.memory.render(facts)))];
    for (const t of turns) messages.push(new HumanMessage(t.user), new AIMessage(t.assistant));
    messages.push(new HumanMessage(message.text));
    try {
      const result = await this.traced(run, message, (callbacks) =>
        this.orchestrate(run, messages, callbacks, context.onToken),
      );
      if (result.stopped) {
        this.o.metrics.recordErrorEvent(STOP_METRIC[result.stopped]);
        run.logger.info(
          { stopped: result.stopped, model_calls: run.modelCalls, tokens: run.tokens },
          'agent run stopped; answered plainly',
        );
      } else {
        clean = true;
        if (run.debug)
          run.logger.debug({ model_calls: run.modelCalls, tokens: run.tokens }, 'agent run finished');
      }
      return {
        text: result.text,
        cached: false,
        shareable: !result.stopped && !run.userSpecific,
        traceId: context.traceId,
      };
    } finally {
      run.dispose(clean);
      await Promise.all(usage);
    }
  }

  /** The orchestrator's loop; a stop (time, steps, repeats, tokens) becomes a plain answer. */
  private async orchestrate(
    run: AgentRun,
    messages: BaseMessage[],
    callbacks: Callbacks | undefined,
    onToken: ((text: string) => void) | undefined,
  ): Promise<{ text: string; stopped?: StopReason }> {
    try {
      const r = await runToolLoop({
        label: 'orchestrator',
        model: this.orchestrator,
        tools: this.orchestratorTools,
        messages,
        run,
        maxSteps: this.o.limits.maxSteps,
        callbacks,
        onToken,
      });
      if (r.stopped) return { text: STOPPED_TEXT[r.stopped](this.o.limits), stopped: r.stopped };
      return { text: r.text.trim() === '' ? 'Sorry, I have no answer to that.' : r.text };
    } catch (err) {
      if (err instanceof RunStopped)
        return { text: STOPPED_TEXT[err.reason](this.o.limits), stopped: err.reason };
      throw err;
    }
  }

  /**
   * Runs `body` as the root of a LangSmith trace whose run id is the message's trace id, tagged
   * with platform, conversation and hashed user; without tracing it just runs `body`.
   */
  private traced<T>(
    run: AgentRun,
    message: InboundMessage,
    body: (callbacks: Callbacks | undefined) => Promise<T>,
  ): Promise<T> {
    const tracing = this.o.tracing;
    if (!tracing) return body(undefined);
    const user = hashUserId(message.userId);
    return RunnableLambda.from(async (_input: { question: string }, config) =>
      body(config?.callbacks),
    ).invoke(
      { question: message.text },
      {
        runId: run.traceId,
        runName: 'real-estate-agent',
        callbacks: [tracing.tracer],
        tags: [`platform:${message.platform}`, `conversation:${message.conversationId}`, `user:${user}`],
        metadata: { platform: message.platform, conversation_id: message.conversationId, user },
      },
    );
  }
}
