import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ChatOpenAI } from '@langchain/openai';
import type { Env } from '../config/env-schema.js';
import type { Upstream } from '../upstream/upstream.js';

/**
 * Sent as the API key to an OpenAI-compatible server configured by `OPENAI_BASE_URL` alone
 * (Ollama, vLLM, LM Studio accept any key; the OpenAI SDK refuses to start without one).
 */
export const PLACEHOLDER_API_KEY = 'no-key-required';

/** Where the model lives and which models to use, from `OPENAI_*`. */
export interface LlmSettings {
  /** `OPENAI_API_KEY`, or the placeholder when only a base URL is configured. */
  readonly apiKey: string;
  /** `OPENAI_BASE_URL`; undefined means OpenAI itself. */
  readonly baseUrl: string | undefined;
  /** `OPENAI_MODEL`: the orchestrator's model. */
  readonly model: string;
  /** `OPENAI_SUBAGENT_MODEL`, or the main model when unset. */
  readonly subagentModel: string;
}

/**
 * The LLM settings, or undefined when neither `OPENAI_API_KEY` nor `OPENAI_BASE_URL` is set: the
 * agent then stays off and chat answers 503 `llm_not_configured`.
 */
export function llmSettings(env: Env): LlmSettings | undefined {
  if (!env.OPENAI_API_KEY && !env.OPENAI_BASE_URL) return undefined;
  return {
    apiKey: env.OPENAI_API_KEY ?? PLACEHOLDER_API_KEY,
    baseUrl: env.OPENAI_BASE_URL,
    model: env.OPENAI_MODEL,
    subagentModel: env.OPENAI_SUBAGENT_MODEL ?? env.OPENAI_MODEL,
  };
}

/** A chat model that can be given tools (every LangChain chat model with tool calling). */
export type ToolCallingModel = BaseChatModel & Required<Pick<BaseChatModel, 'bindTools'>>;

/** The orchestrator's model and the (possibly cheaper) subagents' model. */
export interface ChatModels {
  readonly orchestrator: ToolCallingModel;
  readonly subagent: ToolCallingModel;
  /** Model names, part of the answer cache key. */
  readonly names: { readonly orchestrator: string; readonly subagent: string };
}

/**
 * One `ChatOpenAI` per model name. Every HTTP call goes through the `llm` upstream's fetch
 * (limiter, shared reservoir, retries honouring Retry-After, typed errors), so the SDK's own
 * retries are off; `streamUsage` makes streamed answers report their token usage too.
 */
export function createChatModels(settings: LlmSettings, llm: Upstream): ChatModels {
  const make = (model: string): ToolCallingModel =>
    new ChatOpenAI({
      model,
      apiKey: settings.apiKey,
      maxRetries: 0,
      streamUsage: true,
      configuration: { baseURL: settings.baseUrl, fetch: llm.fetch },
    }) as ToolCallingModel;
  const orchestrator = make(settings.model);
  const subagent = settings.subagentModel === settings.model ? orchestrator : make(settings.subagentModel);
  return {
    orchestrator,
    subagent,
    names: { orchestrator: settings.model, subagent: settings.subagentModel },
  };
}
