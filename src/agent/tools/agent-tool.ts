import type { RunnableConfig } from '@langchain/core/runnables';
import { type StructuredToolInterface, tool } from '@langchain/core/tools';
import type { z } from 'zod';
import { AgentRun } from '../run-context.js';

/** Key of the {@link AgentRun} in a tool call's `configurable` (an object: never copied into trace metadata). */
export const RUN_KEY = 'realEstateAgentRun';

/** Longest tool output handed back to the model; the rest is cut with a note. */
export const MAX_TOOL_OUTPUT_CHARS = 16_000;

/** The run a tool is called in: user, signal, deadline. Throws outside a run. */
export function runOf(config: RunnableConfig | undefined): AgentRun {
  const run = (config?.configurable as Record<string, unknown> | undefined)?.[RUN_KEY];
  if (!(run instanceof AgentRun)) throw new Error('agent tool called outside an agent run');
  return run;
}

/** What a tool's body gets besides its validated input. */
export interface ToolCallContext {
  /** The run: the user id comes from here, never from the model's arguments. */
  readonly run: AgentRun;
  /** Aborts when the run stops or this call's step time is up: pass it to every upstream call. */
  readonly signal: AbortSignal;
  /** Epoch ms: pass it to upstream calls so no retry starts that would end later. */
  readonly deadline: number;
  /** The call's LangChain config (callbacks for nested runs). */
  readonly config: RunnableConfig;
}

/** Definition of one agent tool. */
export interface AgentToolSpec<S extends z.ZodObject> {
  readonly name: string;
  readonly description: string;
  readonly schema: S;
  /** Reads or writes the user's own data: the answer is then never shared or cached. */
  readonly userSpecific?: boolean;
  /**
   * The tool runs steps of its own (a subagent): it gets the run's signal and deadline instead of
   * a single step's.
   */
  readonly ownsSteps?: boolean;
  run(input: z.output<S>, context: ToolCallContext): Promise<unknown> | unknown;
}

/** Serialises a tool result for the model: strings as they are, anything else as JSON, bounded. */
export function toolText(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
  if (text.length <= MAX_TOOL_OUTPUT_CHARS) return text;
  return `${text.slice(0, MAX_TOOL_OUTPUT_CHARS)}\n[output cut at ${MAX_TOOL_OUTPUT_CHARS} characters]`;
}

/**
 * A LangChain tool (`tool()` with a zod schema, so `bindTools` gives the model its JSON schema)
 * whose body runs inside the current {@link AgentRun}: each call gets a step scope (its own time
 * budget under the run's), and user-specific tools mark the run so its answer is never shared.
 * The tools are built once and bound to the model once; the run travels in `configurable`.
 */
export function agentTool<S extends z.ZodObject>(spec: AgentToolSpec<S>): StructuredToolInterface {
  return tool(
    async (input: z.output<S>, config: RunnableConfig) => {
      const run = runOf(config);
      if (spec.userSpecific) run.markUserSpecific();
      if (spec.ownsSteps) {
        return toolText(await spec.run(input, { run, signal: run.signal, deadline: run.deadline, config }));
      }
      const step = run.step();
      try {
        return toolText(await spec.run(input, { run, signal: step.signal, deadline: step.deadline, config }));
      } finally {
        step.dispose();
      }
    },
    {
      name: spec.name,
      description: spec.description,
      schema: spec.schema,
      verboseParsingErrors: true,
    },
  ) as unknown as StructuredToolInterface;
}
