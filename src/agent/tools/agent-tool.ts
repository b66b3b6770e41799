import type { RunnableConfig } from '@langchain/core/runnables';
import { type StructuredToolInterface, ToolInputParsingException, tool } from '@langchain/core/tools';
import { prettifyError, type z } from 'zod';
import { abortReason, raceSignal } from '../../core/abort.js';
import type { StopSource } from '../../core/abort-scope.js';
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
  /**
   * Aborts when the run stops or this call's step time is up: pass it to every upstream call (the
   * clients take it as it is; an AbortSignal is made only for a request actually sent).
   */
  readonly signal: StopSource;
  /** Epoch ms: pass it to upstream calls so no retry starts that would end later. */
  readonly deadline: number;
  /** The call's LangChain config (callbacks for nested runs; empty when the run is not traced). */
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

/** Runs a tool's arguments through its schema and body inside a run, without LangChain's callbacks. */
type DirectCall = (args: unknown, run: AgentRun) => Promise<string>;

/** The untraced entry of each agent tool (see {@link callDirect}). */
const direct = new WeakMap<StructuredToolInterface, DirectCall>();

/** The config a body gets on the untraced path: no callbacks to nest under. */
const UNTRACED: RunnableConfig = Object.freeze({});

/**
 * Calls an agent tool straight, for a run that is not traced: the same validation (a
 * `ToolInputParsingException` worded as LangChain words it), step scope and output as
 * `tool.invoke`, and the call still ends when the run's signal aborts, but without LangChain's
 * per-call callback manager, run tree and config objects (most of a tool call's cost when
 * nothing listens). Undefined for a tool that is not an agent tool: invoke it instead.
 */
export function callDirect(
  tool: StructuredToolInterface,
  args: unknown,
  run: AgentRun,
): Promise<string> | undefined {
  return direct.get(tool)?.(args, run);
}

/**
 * A LangChain tool (`tool()` with a zod schema, so `bindTools` gives the model its JSON schema)
 * whose body runs inside the current {@link AgentRun}: each call gets a step scope (its own time
 * budget under the run's), and user-specific tools mark the run so its answer is never shared.
 * The tools are built once and bound to the model once; the run travels in `configurable`
 * (traced runs, through `tool.invoke`) or as an argument ({@link callDirect}).
 */
export function agentTool<S extends z.ZodObject>(spec: AgentToolSpec<S>): StructuredToolInterface {
  const execute = async (input: z.output<S>, run: AgentRun, config: RunnableConfig): Promise<string> => {
    if (spec.userSpecific) run.markUserSpecific();
    if (spec.ownsSteps) {
      return toolText(await spec.run(input, { run, signal: run.scope, deadline: run.deadline, config }));
    }
    const step = run.step();
    try {
      return toolText(await spec.run(input, { run, signal: step.stop, deadline: step.deadline, config }));
    } finally {
      step.dispose();
    }
  };
  const made = tool(
    async (input: z.output<S>, config: RunnableConfig) => execute(input, runOf(config), config),
    {
      name: spec.name,
      description: spec.description,
      schema: spec.schema,
      verboseParsingErrors: true,
    },
  ) as unknown as StructuredToolInterface;
  direct.set(made, async (args, run) => {
    const parsed = await spec.schema.safeParseAsync(args);
    if (!parsed.success) {
      throw new ToolInputParsingException(
        'Received tool input did not match expected schema\n' +
          `Details: ${parsed.error.message}\n\n${prettifyError(parsed.error)}`,
        JSON.stringify(args),
      );
    }
    if (run.scope.aborted) throw abortReason(run.scope);
    return raceSignal(execute(parsed.data, run, UNTRACED), run.scope);
  });
  return made;
}
