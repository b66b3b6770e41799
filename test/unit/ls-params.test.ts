import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { describe, expect, it } from 'vitest';
import { offlineChatModel } from '../helpers/chat-model.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe("the chat model's LangSmith parameters", () => {
  const orchestrator = offlineChatModel();

  it('are what LangChain makes them, property for property and in the same order', () => {
    for (const options of [{}, { stop: ['\n'] }, { temperature: 0.2, maxTokens: 100 }]) {
      const ours = orchestrator.getLsParamsWithDefaults(options as never);
      const theirs = BaseChatModel.prototype.getLsParamsWithDefaults.call(orchestrator, options as never);
      expect(Object.entries(ours)).toEqual(Object.entries(theirs));
      expect(ours.ls_integration).toBe('langchain_chat_model');
      expect(ours.ls_model_name).toBe('gpt-x');
    }
  });

  it('share one hidden class from call to call, where LangChain makes a new one each time (V8 says so)', () => {
    const run = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', join(ROOT, 'test', 'helpers', 'hidden-classes.ts')],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      ours: true,
      // Why src/agent/model-factory.ts overrides getLsParamsWithDefaults: when a LangChain or
      // Node upgrade turns this true, the override can go.
      langchain: false,
    });
  });
});
