import { AnswerCache } from '../agent/answer-cache.js';
import { ConversationStore } from '../agent/conversation-store.js';
import { type ChatModels, createChatModels, type LlmSettings, llmSettings } from '../agent/model-factory.js';
import { PROMPT_VERSION } from '../agent/prompts.js';
import { type AgentLimits, RealEstateAgent } from '../agent/real-estate-agent.js';
import { TokenBudget } from '../agent/token-budget.js';
import { createTracing, type Tracing } from '../agent/tracing.js';
import { UserData } from '../agent/user-data.js';
import { UserMemory } from '../agent/user-memory.js';
import type { Cache } from '../cache/cache.js';
import type { Config } from '../config/config.js';
import type { Env } from '../config/env-schema.js';
import {
  ChatCommandAgent,
  FORGET_COMMAND,
  forgetCommand,
  type UserDataEraser,
} from '../core/chat-commands.js';
import type { Agent } from '../core/message.js';
import { UnconfiguredAgent } from '../core/unconfigured-agent.js';
import type { DataStore } from '../data/data-store.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { RedisConnection } from '../redis/connection.js';
import { createToolBackends, type ToolBackends } from '../tools/backends.js';
import { createUpstreams, type Upstreams } from '../upstream/upstreams.js';

/** The agent and what it is built on, as the composition root wires them. */
export interface AgentServices {
  /** The agent behind every platform, with the core's chat commands (`/realty-forget`) in front. */
  readonly agent: Agent;
  /** "Forget me" for the HTTP route and the chat command. */
  readonly userData: UserDataEraser;
  readonly upstreams: Upstreams;
  readonly tools: ToolBackends;
  readonly tracing: Tracing | undefined;
  /** On shutdown, after adapters drained: stops the upstream limiters and flushes traces. */
  close(): Promise<void>;
}

/** Dependencies the core already has. */
export interface AgentDeps {
  readonly connection: RedisConnection;
  readonly cache: Cache;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  readonly data: DataStore;
  /** Replaces the configured agent (tests); chat commands still apply. */
  readonly agent?: Agent;
  /** Replaces the models built from `OPENAI_*` (benchmarks, tests): the real agent runs on them. */
  readonly models?: ChatModels;
}

/** A base URL for logs: origin and path only (never user info or a query). */
function withoutCredentials(url: string | undefined): string {
  if (!url) return 'https://api.openai.com/v1 (default)';
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** Limits of each run from `AGENT_*`; the run's own budget stays a little under `AGENT_TIMEOUT_MS`. */
export function agentLimitsFrom(env: Env): AgentLimits {
  const margin = Math.min(2000, Math.max(100, Math.round(env.AGENT_TIMEOUT_MS * 0.1)));
  return {
    maxSteps: env.AGENT_MAX_STEPS,
    stepTimeoutMs: env.AGENT_STEP_TIMEOUT_MS,
    runBudgetMs: Math.max(50, env.AGENT_TIMEOUT_MS - margin),
  };
}

/**
 * Builds upstreams, tool back-ends, memory, conversations, token budget, answer cache, tracing
 * and the agent from configuration. Without `OPENAI_API_KEY` and `OPENAI_BASE_URL` the agent is
 * the {@link UnconfiguredAgent} (503 `llm_not_configured`); "forget me" works either way.
 */
export function buildAgentServices(config: Config, deps: AgentDeps): AgentServices {
  const env = config.env;
  const { connection, cache, metrics, logger, data } = deps;
  const upstreams = createUpstreams(config, {
    connection,
    logger,
    // A failed model call fails (or plainly stops) its run, which the pipeline or the agent
    // counts: counting it here as well would count every model failure twice.
    onError: (type, _err, upstream) => {
      if (upstream !== 'llm') metrics.recordErrorEvent(type);
    },
  });
  const tools = createToolBackends(config, { cache, upstreams });
  const conversations = new ConversationStore({
    connection,
    ttlSeconds: env.CONVERSATION_TTL_SECONDS,
    maxTokens: env.CONVERSATION_MAX_TOKENS,
    memoryMaxEntries: env.MEMORY_STORE_MAX_ENTRIES,
  });
  const memory = new UserMemory({
    store: data,
    promptMaxChars: env.AGENT_MEMORY_PROMPT_MAX_CHARS,
    erasedSince: (userId, startedAt) => conversations.erasedSince(userId, startedAt),
  });
  const userData = new UserData({ memory, conversations, logger });
  const settings = llmSettings(env);
  let tracing: Tracing | undefined;
  let inner: Agent;
  if (deps.agent) inner = deps.agent;
  else if (!settings && !deps.models) inner = new UnconfiguredAgent();
  else {
    tracing = createTracing(env, logger);
    const models = deps.models ?? createChatModels(settings as LlmSettings, upstreams.llm);
    inner = new RealEstateAgent({
      models,
      backends: tools,
      data,
      memory,
      conversations,
      budget: new TokenBudget({
        connection,
        dailyLimit: env.LLM_USER_DAILY_TOKENS,
        memoryMaxEntries: env.MEMORY_STORE_MAX_ENTRIES,
      }),
      answers: new AnswerCache({
        cache,
        ttlSeconds: env.ANSWER_CACHE_TTL_SECONDS,
        fingerprint: [
          PROMPT_VERSION,
          models.names.orchestrator,
          models.names.subagent,
          `realty:${tools.realty.configured}`,
          `market:${tools.market.configured}`,
        ].join('|'),
      }),
      limits: agentLimitsFrom(env),
      metrics,
      llmHealth: () => upstreams.llm.health(),
      tracing,
      logger,
    });
    logger.info(
      {
        model: models.names.orchestrator,
        subagent_model: models.names.subagent,
        base_url: deps.models ? 'injected' : withoutCredentials(settings?.baseUrl),
      },
      'agent configured',
    );
  }
  const agent = new ChatCommandAgent(inner, { [FORGET_COMMAND]: forgetCommand(userData) });
  let closing: Promise<void> | undefined;
  return {
    agent,
    userData,
    upstreams,
    tools,
    tracing,
    close() {
      closing ??= (async () => {
        await upstreams.stop();
        await tracing?.close();
      })();
      return closing;
    },
  };
}
