import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';
import { z } from 'zod';
import type { ToolCallingModel } from './model-factory.js';
import { SUBAGENT_NAMES, SUBAGENT_PROMPTS, type SubagentName, subagentPrompt } from './prompts.js';
import { type BoundModel, runToolLoop } from './tool-loop.js';
import { agentTool } from './tools/agent-tool.js';

/** A specialist: its model with its tools bound once, and the tools by name. */
export interface Subagent {
  readonly name: SubagentName;
  readonly model: BoundModel;
  readonly tools: ReadonlyMap<string, StructuredToolInterface>;
}

/**
 * Builds the subagents that have a tool set (in {@link SUBAGENT_NAMES} order; one without is not
 * offered at all); tools are bound to the (subagent) model once.
 */
export function buildSubagents(
  model: ToolCallingModel,
  toolsets: Partial<Record<SubagentName, StructuredToolInterface[]>>,
): Map<SubagentName, Subagent> {
  const out = new Map<SubagentName, Subagent>();
  for (const name of SUBAGENT_NAMES) {
    const tools = toolsets[name];
    if (!tools) continue;
    out.set(name, {
      name,
      model: model.bindTools(tools) as BoundModel,
      tools: new Map(tools.map((t) => [t.name, t])),
    });
  }
  return out;
}

const STOPPED: Record<'max_steps' | 'repeated_calls', string> = {
  max_steps: 'ran out of steps',
  repeated_calls: 'kept repeating the same call',
};

/**
 * The orchestrator's only way to the domain tools: `delegate` runs a subagent's own tool loop
 * (same run, signal and budgets; the subagent's model calls and tool calls nest under this call
 * in the trace) and returns its answer as the tool's result. Its description and its `assistant`
 * enum name only the subagents given.
 */
export function delegateTool(subagents: ReadonlyMap<SubagentName, Subagent>, maxSteps: number) {
  const names = [...subagents.keys()];
  if (names.length === 0) throw new RangeError('delegateTool needs at least one subagent');
  const list = names.map((n) => `${n} (${SUBAGENT_PROMPTS[n].summary})`).join('; ');
  return agentTool({
    name: 'delegate',
    description: `Hand a task to a specialist assistant and get its answer back. Specialists: ${list}.`,
    schema: z.object({
      assistant: z.enum(names as [SubagentName, ...SubagentName[]]).describe('Which specialist'),
      task: z
        .string()
        .min(1)
        .max(8000)
        .describe(
          'The complete task: every criterion, number and place it needs (it does not see the conversation)',
        ),
    }),
    ownsSteps: true,
    run: async ({ assistant, task }, { run, config }) => {
      const sub = subagents.get(assistant);
      if (!sub) return `Error: no specialist named ${assistant}`;
      const result = await runToolLoop({
        label: assistant,
        model: sub.model,
        tools: sub.tools,
        messages: [new SystemMessage(subagentPrompt(assistant)), new HumanMessage(task)],
        run,
        maxSteps,
        callbacks: config.callbacks,
      });
      if (result.stopped)
        return `The ${assistant} specialist ${STOPPED[result.stopped]} without finishing; its partial work is lost. Answer with what you have, or ask the user to narrow the request.`;
      return result.text || `The ${assistant} specialist gave no answer.`;
    },
  });
}
