import type { StructuredToolInterface } from '@langchain/core/tools';
import { z } from 'zod';
import type { UserMemory } from '../user-memory.js';
import { agentTool } from './agent-tool.js';

/**
 * Memory tools for the orchestrator: remember, recall and forget facts about the CURRENT user.
 * None takes a user id: the user is the one whose message is being answered.
 */
export function memoryTools(memory: UserMemory): StructuredToolInterface[] {
  return [
    agentTool({
      name: 'remember_fact',
      description:
        'Remember a durable fact the user stated about themselves (budget, target city, household size, ' +
        'must-haves, financing) for later conversations. Re-using a key replaces its value.',
      schema: z.object({
        key: z.string().min(1).max(60).describe('Short name, e.g. "budget", "target_city", "bedrooms"'),
        value: z.string().min(1).max(500).describe('The fact, in the user\'s terms, e.g. "up to $600k"'),
      }),
      userSpecific: true,
      run: async ({ key, value }, { run }) => {
        const saved = await memory.remember(run.userId, key, value, run.messageStartedAt);
        return { remembered: saved.key, facts_stored: saved.count };
      },
    }),
    agentTool({
      name: 'recall_memory',
      description: 'List every fact remembered about the user, newest first.',
      schema: z.object({}),
      userSpecific: true,
      run: async (_input, { run }) => {
        const facts = await memory.facts(run.userId);
        return { facts: facts.map((f) => ({ key: f.key, value: f.value, updated_at: f.updatedAt })) };
      },
    }),
    agentTool({
      name: 'forget_fact',
      description: 'Forget one remembered fact about the user, by its key.',
      schema: z.object({ key: z.string().min(1).max(60) }),
      userSpecific: true,
      run: async ({ key }, { run }) => ({ forgotten: await memory.forgetFact(run.userId, key) }),
    }),
  ];
}
