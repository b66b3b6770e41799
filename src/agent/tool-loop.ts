import type { Callbacks } from '@langchain/core/callbacks/manager';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import { type AIMessageChunk, type BaseMessage, ToolMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { type StructuredToolInterface, ToolInputParsingException } from '@langchain/core/tools';
import { stableStringify } from '../cache/cache.js';
import { isAbortError } from '../core/abort.js';
import { AppError } from '../core/errors.js';
import { classifyUpstreamError } from '../upstream/classify.js';
import { type AgentRun, RunStopped } from './run-context.js';
import { callDirect, RUN_KEY } from './tools/agent-tool.js';

/** A chat model with its tools bound. */
export type BoundModel = Runnable<BaseLanguageModelInput, AIMessageChunk>;

/** One tool-calling loop: the orchestrator's, or a subagent's. */
export interface LoopOptions {
  /** `orchestrator` or the subagent's name (logs). */
  readonly label: string;
  readonly model: BoundModel;
  readonly tools: ReadonlyMap<string, StructuredToolInterface>;
  /** The conversation so far; the loop appends the model's messages and the tool results. */
  readonly messages: BaseMessage[];
  readonly run: AgentRun;
  /** Model calls allowed in this loop. */
  readonly maxSteps: number;
  /** LangChain callbacks of the enclosing run (the tracer), so every call nests in the trace. */
  readonly callbacks?: Callbacks;
  /** Streams the model's text as it arrives (the orchestrator, when the caller streams). */
  readonly onToken?: (text: string) => void;
}

/** How a loop ended. */
export interface LoopResult {
  /** The model's final answer ('' when stopped). */
  readonly text: string;
  readonly steps: number;
  /** Set when the loop gave up: too many steps, or the model kept repeating the same call. */
  readonly stopped?: 'max_steps' | 'repeated_calls';
}

/** Errors of a model call: they fail the whole run (a subagent's too), never go back as tool output. */
const modelFailures = new WeakSet<object>();

/** The text of a message's content (a string, or text blocks). */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b) =>
      typeof b === 'string'
        ? b
        : (b as { type?: string; text?: unknown })?.type === 'text'
          ? String((b as { text?: unknown }).text ?? '')
          : '',
    )
    .join('');
}

/**
 * Tokens of a call whose server reported no usage (some local servers): characters / 4 of the
 * prompt and the answer, so the daily budget still counts something.
 */
function estimateTokens(messages: readonly BaseMessage[], ai: AIMessageChunk): number {
  let chars = JSON.stringify(ai.tool_calls ?? []).length + textOf(ai.content).length;
  for (const m of messages)
    chars += typeof m.content === 'string' ? m.content.length : JSON.stringify(m.content).length;
  return Math.ceil(chars / 4);
}

/** One model call within the run's and the step's time budget; SDK errors become typed `llm` errors. */
async function callModel(o: LoopOptions): Promise<AIMessageChunk> {
  await o.run.fairTurn();
  o.run.beforeModelCall();
  const step = o.run.modelStep();
  try {
    let ai: AIMessageChunk;
    if (o.onToken) {
      let acc: AIMessageChunk | undefined;
      const stream = await o.model.stream(o.messages, { signal: step.signal, callbacks: o.callbacks });
      for await (const chunk of stream) {
        const text = textOf(chunk.content);
        if (text) o.onToken(text);
        acc = acc === undefined ? chunk : acc.concat(chunk);
      }
      if (acc === undefined) throw new AppError('llm_error', 'The language model sent an empty stream');
      ai = acc;
    } else {
      ai = await o.model.invoke(o.messages, { signal: step.signal, callbacks: o.callbacks });
    }
    o.run.addUsage(ai.usage_metadata?.total_tokens ?? estimateTokens(o.messages, ai));
    return ai;
  } catch (err) {
    const outcome = o.run.abortOutcome(step);
    if (outcome !== undefined) throw outcome;
    const e = err instanceof RunStopped ? err : classifyUpstreamError(err, 'llm', 'llm');
    modelFailures.add(e);
    throw e;
  } finally {
    step.dispose();
  }
}

/** A message for the model about a failed tool call: what went wrong, never a secret or a stack. */
function describeToolError(err: unknown, o: LoopOptions, name: string): string {
  if (err instanceof ToolInputParsingException) {
    const at = err.message.indexOf('✖');
    return `invalid arguments: ${(at === -1 ? err.message : err.message.slice(at + 1)).trim().slice(0, 800)}`;
  }
  if (err instanceof AppError) return err.message;
  if (isAbortError(err))
    return 'the tool did not answer in time; try something narrower, or answer without it';
  o.run.logger.warn({ tool: name, err }, 'tool failed unexpectedly');
  return 'the tool failed unexpectedly';
}

/** Runs one tool call; its failure goes back to the model as a tool message. */
async function runCall(
  o: LoopOptions,
  call: { name: string; args: Record<string, unknown>; id: string },
  seen: Set<string>,
): Promise<{ message: ToolMessage; repeated: boolean }> {
  const reply = (content: string, status: 'success' | 'error' = 'error') =>
    new ToolMessage({ content, tool_call_id: call.id, name: call.name, status });
  const tool = o.tools.get(call.name);
  if (!tool) {
    const names = [...o.tools.keys()].join(', ');
    return { message: reply(`Error: there is no tool "${call.name}". Available: ${names}`), repeated: false };
  }
  const key = `${call.name}\u0000${stableStringify(call.args)}`;
  if (seen.has(key)) {
    return {
      message: reply(
        `Error: ${call.name} was already called with exactly these arguments; its result is above. ` +
          'Do not repeat the call: use that result, or answer the user.',
      ),
      repeated: true,
    };
  }
  seen.add(key);
  const started = performance.now();
  try {
    // Untraced runs skip LangChain's per-call callback machinery (see callDirect).
    const out =
      (o.callbacks === undefined ? callDirect(tool, call.args, o.run) : undefined) ??
      tool.invoke(
        { name: call.name, args: call.args, id: call.id, type: 'tool_call' },
        { callbacks: o.callbacks, configurable: { [RUN_KEY]: o.run }, signal: o.run.signal },
      );
    const result = await out;
    if (o.run.debug)
      o.run.logger.debug(
        { agent: o.label, tool: call.name, duration_ms: Math.round(performance.now() - started) },
        'tool call',
      );
    return {
      message:
        result instanceof ToolMessage
          ? result
          : reply(typeof result === 'string' ? result : JSON.stringify(result), 'success'),
      repeated: false,
    };
  } catch (err) {
    const stop = o.run.stopOutcome();
    if (stop !== undefined) throw stop;
    if (err instanceof RunStopped || (typeof err === 'object' && err !== null && modelFailures.has(err)))
      throw err;
    const text = describeToolError(err, o, call.name);
    o.run.logger.info(
      { agent: o.label, tool: call.name, code: err instanceof AppError ? err.code : undefined },
      'tool call failed; told the model',
    );
    return { message: reply(`Error: ${text}`), repeated: false };
  }
}

/**
 * The tool-calling loop: call the model; when it asks for tools, run them (in parallel) and give
 * the results back; stop at its final answer. Bounded by `maxSteps` model calls, by the run's and
 * each step's time budget (the run's AbortSignal reaches every model and upstream call), by the
 * token allowance, and by a guard against repeating the same call (same name and arguments):
 * a repeat is refused, and a step made only of repeats twice ends the loop. Tool failures go back
 * to the model as tool messages; model failures and aborts end the run.
 */
export async function runToolLoop(o: LoopOptions): Promise<LoopResult> {
  const seen = new Set<string>();
  let repeatSteps = 0;
  for (let step = 1; step <= o.maxSteps; step++) {
    const ai = await callModel(o);
    o.messages.push(ai);
    const valid = (ai.tool_calls ?? []).map((c, i) => ({
      name: c.name,
      args: c.args,
      id: c.id ?? `call_${step}_${i}`,
    }));
    // Calls whose arguments were not JSON are answered only when alone: beside valid calls the SDK
    // does not send them back, and an answer to a call the model never made is refused.
    const calls =
      valid.length > 0
        ? valid
        : (ai.invalid_tool_calls ?? [])
            .filter((c) => c.id)
            .map((c) => ({
              name: c.name ?? 'unknown',
              args: { invalid_arguments: c.args ?? '' },
              id: c.id as string,
            }));
    if (calls.length === 0) return { text: textOf(ai.content), steps: step };
    const results = await Promise.all(calls.map((c) => runCall(o, c, seen)));
    o.messages.push(...results.map((r) => r.message));
    repeatSteps = results.every((r) => r.repeated) ? repeatSteps + 1 : 0;
    if (repeatSteps >= 2) return { text: '', steps: step, stopped: 'repeated_calls' };
  }
  return { text: '', steps: o.maxSteps, stopped: 'max_steps' };
}
