import { AIMessageChunk, type BaseMessage, HumanMessage, type ToolMessage } from '@langchain/core/messages';
import { RunnableLambda } from '@langchain/core/runnables';
import { type StructuredToolInterface, ToolInputParsingException } from '@langchain/core/tools';
import { describe, expect, it } from 'vitest';
import { normaliseQuestion } from '../../src/agent/answer-cache.js';
import { llmSettings, PLACEHOLDER_API_KEY } from '../../src/agent/model-factory.js';
import { AgentRun, RunStopped } from '../../src/agent/run-context.js';
import { type BoundModel, runToolLoop } from '../../src/agent/tool-loop.js';
import { callDirect, RUN_KEY } from '../../src/agent/tools/agent-tool.js';
import { financeTools } from '../../src/agent/tools/finance-tools.js';
import { TurnGate } from '../../src/agent/turn-gate.js';
import { UserMemory } from '../../src/agent/user-memory.js';
import { agentLimitsFrom } from '../../src/app/agent-services.js';
import { configFrom } from '../../src/config/config.js';
import { AbortScope, type StopSource } from '../../src/core/abort-scope.js';
import { ChatCommandAgent, commandOf } from '../../src/core/chat-commands.js';
import { AbortControllerPool } from '../../src/core/controller-pool.js';
import type { DataStore, MemoryData, MemoryRecord } from '../../src/data/data-store.js';
import { FakeAgent } from '../fakes/fake-agent.js';
import { testLogger } from '../helpers/logs.js';
import { activeHandles } from '../helpers/upstreams.js';

/** Just the memory half of a DataStore, in a Map. */
function memoryStore(): DataStore {
  const m = new Map<string, MemoryData>();
  const record = (userId: string, data: MemoryData): MemoryRecord => ({
    userId,
    revision: 1,
    updatedAt: new Date().toISOString(),
    data,
  });
  return {
    readMemory: async (u) => (m.has(u) ? record(u, m.get(u) as MemoryData) : undefined),
    updateMemory: async (u, update) => {
      const data = await update(m.get(u));
      m.set(u, data);
      return record(u, data);
    },
    deleteMemory: async (u) => m.delete(u),
    writeReport: async () => {
      throw new Error('not here');
    },
    getReport: async () => undefined,
    listReports: async () => [],
  };
}

const logger = testLogger('agent-unit').logger;
function newRun(
  options: {
    budgetMs?: number;
    stepTimeoutMs?: number;
    parent?: StopSource;
    signals?: AbortControllerPool;
  } = {},
) {
  return new AgentRun({
    userId: 'http:alpha:u1',
    messageStartedAt: Date.now(),
    platform: 'http',
    conversationId: 'c1',
    traceId: '00000000-0000-4000-8000-000000000000',
    logger: () => logger,
    parent: options.parent ?? new AbortController().signal,
    budgetMs: options.budgetMs ?? 5000,
    stepTimeoutMs: options.stepTimeoutMs ?? 5000,
    tokenAllowance: Number.POSITIVE_INFINITY,
    signals: options.signals,
  });
}

describe('agent parts', () => {
  it('normalises questions for the answer cache', () => {
    expect(normaliseQuestion('  3-Bed homes in   Austin under 500K?! ')).toBe(
      '3-bed homes in austin under 500k',
    );
    expect(normaliseQuestion('Ｈｏｍｅｓ')).toBe('homes');
  });

  it('reads the LLM settings: off without key and base URL, a placeholder key for local servers', () => {
    expect(llmSettings(configFrom({}).env)).toBeUndefined();
    expect(llmSettings(configFrom({ OPENAI_BASE_URL: 'http://localhost:11434/v1' }).env)).toMatchObject({
      apiKey: PLACEHOLDER_API_KEY,
      baseUrl: 'http://localhost:11434/v1',
      model: 'gpt-4o-mini',
      subagentModel: 'gpt-4o-mini',
    });
    expect(
      llmSettings(configFrom({ OPENAI_API_KEY: 'sk-x', OPENAI_SUBAGENT_MODEL: 'small' }).env),
    ).toMatchObject({ apiKey: 'sk-x', baseUrl: undefined, subagentModel: 'small' });
    expect(agentLimitsFrom(configFrom({ AGENT_TIMEOUT_MS: '60000' }).env).runBudgetMs).toBe(58_000);
    expect(agentLimitsFrom(configFrom({ AGENT_TIMEOUT_MS: '1500' }).env).runBudgetMs).toBe(1350);
  });

  it('routes chat commands in the core and everything else to the agent', async () => {
    expect(commandOf('/realty-forget')).toBe('/realty-forget');
    expect(commandOf('  /Realty-Forget please')).toBe('/realty-forget');
    expect(commandOf('please /realty-forget')).toBeUndefined();
    const inner = new FakeAgent();
    const agent = new ChatCommandAgent(inner, { '/realty-forget': async () => ({ text: 'forgotten' }) });
    const context = { signal: new AbortController().signal, traceId: 't', logger };
    const msg = { platform: 'http', userId: 'u', conversationId: 'c' };
    expect((await agent.answer({ ...msg, text: '/realty-forget' }, context)).text).toBe('forgotten');
    expect((await agent.answer({ ...msg, text: '/realty-other' }, context)).text).toBe('echo: /realty-other');
    expect(inner.calls).toHaveLength(1);
  });

  it('keeps a bounded set of facts per user and renders them within the prompt budget', async () => {
    const memory = new UserMemory({ store: memoryStore(), maxFacts: 3, promptMaxChars: 43 });
    await memory.remember('u1', 'Budget', '$450,000');
    await memory.remember('u1', 'target city', 'Austin, TX');
    await memory.remember('u1', 'budget', '$500,000');
    await memory.remember('u1', 'beds', '3');
    await memory.remember('u1', 'pets', 'a dog');
    const facts = await memory.facts('u1');
    expect(facts.map((f) => [f.key, f.value])).toEqual([
      ['pets', 'a dog'],
      ['beds', '3'],
      ['budget', '$500,000'],
    ]);
    expect(memory.render(facts)).toBe('- pets: a dog\n- beds: 3\n- budget: $500,000');
    const small = new UserMemory({ store: memoryStore(), promptMaxChars: 42 });
    expect(small.render(facts)).toBe('- pets: a dog\n- beds: 3'); // newest first, whole lines only
    expect(await memory.facts('u2')).toEqual([]);
    expect(await memory.forgetFact('u1', 'BEDS')).toBe(true);
    expect(await memory.forgetFact('u1', 'beds')).toBe(false);
    await expect(memory.remember('u1', '!!!', 'x')).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await memory.erase('u1')).toBe(true);
    expect(await memory.facts('u1')).toEqual([]);
  });

  it('bounds each step and the run, and clears every timer', async () => {
    const base = activeHandles().timers;
    const run = newRun({ budgetMs: 300, stepTimeoutMs: 50 });
    const step = run.step();
    await new Promise((r) => step.signal.addEventListener('abort', r));
    expect(step.timedOut).toBe(true);
    expect(run.abortOutcome(step)).toBeInstanceOf(RunStopped);
    step.dispose();
    await new Promise((r) => run.signal.addEventListener('abort', r));
    expect(run.timedOut).toBe(true);
    expect(() => run.beforeModelCall()).toThrow(RunStopped);
    run.dispose();
    const parent = new AbortController();
    const other = newRun({ parent: parent.signal });
    const s2 = other.step();
    parent.abort(new Error('client gone'));
    expect(s2.signal.aborted).toBe(true);
    expect((other.abortOutcome(s2) as Error).message).toBe('client gone');
    s2.dispose();
    other.dispose();
    expect(activeHandles().timers).toBeLessThanOrEqual(base);
  });

  it('the turn gate lets at most its share through at once per turn, and none while others wait', async () => {
    const gate = new TurnGate(2);
    expect([gate.tryPass(), gate.tryPass(), gate.tryPass()]).toEqual([true, true, false]);
    await new Promise((r) => setImmediate(r));
    expect(gate.tryPass()).toBe(true);
    const waiting = gate.pass();
    expect(gate.waiting).toBe(1);
    expect(gate.tryPass()).toBe(false);
    await waiting;
    await new Promise((r) => setImmediate(r));
    expect(gate.tryPass()).toBe(true);
  });

  it("gives a cleanly ended run's signal to the next run, and aborts the signal of any other end", () => {
    const signals = new AbortControllerPool();
    const clean = newRun({ signals });
    const signal = clean.signal;
    clean.dispose(true);
    expect(clean.scope.aborted).toBe(true);
    expect(signal.aborted).toBe(false);
    const next = newRun({ signals });
    expect(next.signal).toBe(signal);
    // A run that failed or stopped may leave work running: its signal aborts to stop it.
    next.dispose();
    expect(signal.aborted).toBe(true);
    expect(signals.size).toBe(0);
    const third = newRun({ signals });
    expect(third.signal).not.toBe(signal);
    expect(third.signal.aborted).toBe(false);
    third.dispose(true);
  });

  it('a tool step under a scope parent aborts with it, and makes an AbortSignal only when read', () => {
    const parent = new AbortScope();
    const run = newRun({ parent });
    const step = run.step();
    expect(step.stop).toBeInstanceOf(AbortScope);
    expect(step.stop.aborted).toBe(false);
    parent.abort(new Error('client gone'));
    expect(run.scope.aborted).toBe(true);
    expect(step.stop.aborted).toBe(true);
    expect((run.abortOutcome(step) as Error).message).toBe('client gone');
    // Read only now: made already aborted, with the same reason.
    expect(step.signal.aborted).toBe(true);
    expect((step.signal.reason as Error).message).toBe('client gone');
    step.dispose();
    run.dispose();
  });

  it('bounds a model call by stopping the run, with no controller of its own and no timer left', async () => {
    const base = activeHandles().timers;
    const run = newRun({ budgetMs: 5000, stepTimeoutMs: 50 });
    const step = run.modelStep();
    expect(step.signal).toBe(run.signal);
    await new Promise((r) => run.signal.addEventListener('abort', r));
    expect(step.timedOut).toBe(true);
    expect(run.timedOut).toBe(true);
    expect(run.stopOutcome()).toBeInstanceOf(RunStopped);
    expect(run.abortOutcome(step)).toBeInstanceOf(RunStopped);
    expect(() => run.beforeModelCall()).toThrow(RunStopped);
    step.dispose();
    run.dispose();
    // A step time beyond the run's budget needs no timer: the run's own bounds it.
    const long = newRun({ budgetMs: 1000, stepTimeoutMs: 5000 });
    const before = activeHandles().timers;
    const s2 = long.modelStep();
    expect(activeHandles().timers).toBe(before);
    expect(s2.deadline).toBe(long.deadline);
    s2.dispose();
    long.dispose();
    expect(activeHandles().timers).toBeLessThanOrEqual(base);
  });

  it('calls tools without LangChain callbacks exactly as tool.invoke would', async () => {
    const [mortgage] = financeTools() as [StructuredToolInterface];
    const run = newRun();
    const args = { principal: 400_000, annualRatePercent: 6.5, termYears: 30 };
    const viaInvoke = await mortgage.invoke(
      { name: mortgage.name, args, id: 'x', type: 'tool_call' },
      { configurable: { [RUN_KEY]: run }, signal: run.signal },
    );
    expect(await callDirect(mortgage, args, run)).toBe((viaInvoke as ToolMessage).content);
    const bad = { principal: 'lots' };
    const invokeError = await mortgage
      .invoke(
        { name: mortgage.name, args: bad, id: 'y', type: 'tool_call' },
        { configurable: { [RUN_KEY]: run } },
      )
      .catch((e: unknown) => e as Error);
    const directError = await (callDirect(mortgage, bad, run) as Promise<string>).catch(
      (e: unknown) => e as Error,
    );
    expect(directError).toBeInstanceOf(ToolInputParsingException);
    expect((directError as Error).message).toBe((invokeError as Error).message);
    const gone = new AbortController();
    const stopped = newRun({ parent: gone.signal });
    gone.abort(new Error('client gone'));
    await expect(callDirect(mortgage, args, stopped)).rejects.toThrow('client gone');
    expect(
      callDirect(RunnableLambda.from(() => 1) as unknown as StructuredToolInterface, {}, run),
    ).toBeUndefined();
    run.dispose();
    stopped.dispose();
  });

  it('gives tool failures back to the model and goes on', async () => {
    const tools = financeTools();
    const calls = [
      [{ name: 'mortgage_payment', args: { principal: -5, annualRatePercent: 6.5, termYears: 30 }, id: 'a' }],
      [{ name: 'mortgage_payment', args: { principal: 'lots' }, id: 'b' }],
      [{ name: 'no_such_tool', args: {}, id: 'c' }],
      [],
    ];
    let i = 0;
    const seen: BaseMessage[][] = [];
    const model = RunnableLambda.from(async (messages: BaseMessage[]) => {
      seen.push([...messages]);
      const toolCalls = calls[i++] ?? [];
      return new AIMessageChunk({ content: toolCalls.length ? '' : 'final', tool_calls: toolCalls });
    }) as unknown as BoundModel;
    const run = newRun();
    const result = await runToolLoop({
      label: 'test',
      model,
      tools: new Map(tools.map((t) => [t.name, t])),
      messages: [new HumanMessage('go')],
      run,
      maxSteps: 5,
    });
    run.dispose();
    expect(result).toEqual({ text: 'final', steps: 4 });
    const results = seen.slice(1).map((m) => (m.at(-1) as ToolMessage).content as string);
    expect(results[0]).toBe('Error: principal: must be greater than 0 (got -5)');
    expect(results[1]).toMatch(/^Error: invalid arguments: .*principal/s);
    expect(results[2]).toMatch(/^Error: there is no tool "no_such_tool". Available: mortgage_payment/);
  });
});
