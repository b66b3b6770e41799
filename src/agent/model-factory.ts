import type { BaseChatModel, LangSmithParams } from '@langchain/core/language_models/chat_models';
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

/** What LangChain's `BaseChatModel.getLsParamsWithDefaults` adds to a model's LangSmith parameters. */
const LS_INTEGRATION = Object.freeze({ ls_integration: 'langchain_chat_model' });

/**
 * `BaseChatModel.getLsParamsWithDefaults` (called on every model call, traced or not) with the same
 * result, without a new hidden class per call. LangChain returns
 * `{ ...this.getLsParams(options), ls_integration }`; on Node 20 (V8 11.3) the copy a spread makes
 * has a map outside any transition tree, so adding a property to it makes a brand-new map in the
 * old generation each time, whose descriptors then survive every young GC until the next full
 * one. Four model calls per message made four such maps (about 480 bytes promoted per message of
 * the agent benchmark, and longer scavenge pauses). `Object.assign` onto `{}` follows the shared
 * transition tree. test/unit/ls-params.test.ts checks both (V8's own %HaveSameMap).
 */
export function lsParamsWithDefaults(params: LangSmithParams): LangSmithParams {
  return Object.assign({}, params, LS_INTEGRATION);
}

/** `ChatOpenAI` with {@link lsParamsWithDefaults}. */
class OpenAIChatModel extends ChatOpenAI {
  override getLsParamsWithDefaults(options: this['ParsedCallOptions']): LangSmithParams {
    return lsParamsWithDefaults(this.getLsParams(options));
  }
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
    new OpenAIChatModel({
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
