import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { abortReason, raceSignal, sleep } from '../../src/core/abort.js';
import { AbortScope, offStop, onStop, signalOf } from '../../src/core/abort-scope.js';
import { AbortControllerPool } from '../../src/core/controller-pool.js';

describe('AbortScope', () => {
  it('aborts once, with the reason given or an AbortError, and tells each listener once', () => {
    const scope = new AbortScope();
    const heard: string[] = [];
    const a = () => heard.push('a');
    const b = () => heard.push('b');
    scope.onAbort(a);
    scope.onAbort(b);
    scope.offAbort(b);
    expect(scope.aborted).toBe(false);
    expect(scope.reason).toBeUndefined();
    scope.abort(new Error('first'));
    scope.abort(new Error('second'));
    expect(heard).toEqual(['a']);
    expect((scope.reason as Error).message).toBe('first');
    const plain = new AbortScope();
    plain.abort();
    expect(plain.reason).toMatchObject({ name: 'AbortError' });
    expect(abortReason(plain)).toBe(plain.reason);
  });

  it('makes its AbortSignal on first read, which aborts with it (before its own listeners run)', () => {
    const scope = new AbortScope();
    const signal = scope.signal;
    expect(scope.signal).toBe(signal);
    let seenBySignal = false;
    let signalAbortedForScopeListener = false;
    signal.addEventListener('abort', () => {
      seenBySignal = true;
    });
    scope.onAbort(() => {
      signalAbortedForScopeListener = signal.aborted;
    });
    scope.abort(new Error('stop'));
    expect(seenBySignal).toBe(true);
    expect(signalAbortedForScopeListener).toBe(true);
    expect((signal.reason as Error).message).toBe('stop');
    const late = new AbortScope();
    late.abort(new Error('before'));
    expect(late.signal.aborted).toBe(true);
    expect((late.signal.reason as Error).message).toBe('before');
  });

  it('never calls a listener added after the abort', () => {
    const scope = new AbortScope();
    scope.abort();
    let called = false;
    scope.onAbort(() => {
      called = true;
    });
    expect(called).toBe(false);
  });

  it('works with the helpers that take an AbortSignal or a scope', async () => {
    const scope = new AbortScope();
    const signal = new AbortController();
    const heard: string[] = [];
    const fromScope = () => heard.push('scope');
    const fromSignal = () => heard.push('signal');
    onStop(scope, fromScope);
    onStop(signal.signal, fromSignal);
    offStop(signal.signal, fromSignal);
    scope.abort();
    signal.abort();
    expect(heard).toEqual(['scope']);
    expect(signalOf(signal.signal)).toBe(signal.signal);

    const racing = new AbortScope();
    const raced = raceSignal(new Promise(() => undefined), racing);
    racing.abort(new Error('left'));
    await expect(raced).rejects.toThrow('left');

    const sleeping = new AbortScope();
    const slept = sleep(10_000, sleeping);
    sleeping.abort(new Error('woken'));
    await expect(slept).rejects.toThrow('woken');
  });

  it('follows a parent (a scope or an AbortSignal) until unlinked', () => {
    const parent = new AbortScope();
    const child = new AbortScope();
    child.follow(parent);
    parent.abort(new Error('parent stopped'));
    expect((child.reason as Error).message).toBe('parent stopped');

    const signal = new AbortController();
    const unlinked = new AbortScope();
    const unfollow = unlinked.follow(signal.signal);
    unfollow();
    signal.abort();
    expect(unlinked.aborted).toBe(false);

    const late = new AbortScope();
    late.follow(parent);
    expect((late.reason as Error).message).toBe('parent stopped');
  });
});

describe('AbortScope with an AbortControllerPool', () => {
  it("hands a cleanly ended scope's signal to the next scope, unaborted and without listeners", () => {
    const pool = new AbortControllerPool();
    const first = new AbortScope(pool);
    const signal = first.signal;
    let oldListenerCalls = 0;
    signal.addEventListener('abort', () => oldListenerCalls++, { once: true });
    let scopeListenerCalls = 0;
    first.onAbort(() => scopeListenerCalls++);

    first.end(new Error('done'));
    // The scope itself ended as abort() ends it: its own listeners ran, its reason is kept.
    expect(first.aborted).toBe(true);
    expect((first.reason as Error).message).toBe('done');
    expect(scopeListenerCalls).toBe(1);
    // Its signal did not abort: it went back to the pool, its listener removed.
    expect(signal.aborted).toBe(false);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(pool.size).toBe(1);
    // Read after the end, the ended scope's signal is a new, aborted one.
    expect(first.signal).not.toBe(signal);
    expect(first.signal.aborted).toBe(true);

    const second = new AbortScope(pool);
    expect(second.signal).toBe(signal);
    expect(pool.size).toBe(0);
    second.abort(new Error('stop'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('stop');
    expect(oldListenerCalls).toBe(0); // the first scope's listener was gone
  });

  it('aborts as usual when the pool will not take the signal', () => {
    const pool = new AbortControllerPool();
    // A capture listener is only removed with capture: the pool refuses it.
    const captured = new AbortScope(pool);
    const signal = captured.signal;
    let heard = false;
    signal.addEventListener(
      'abort',
      () => {
        heard = true;
      },
      { capture: true },
    );
    captured.end(new Error('done'));
    expect(signal.aborted).toBe(true);
    expect(heard).toBe(true);
    expect(pool.size).toBe(0);

    // A scope ended with abort() never gives its signal back.
    const aborted = new AbortScope(pool);
    const abortedSignal = aborted.signal;
    aborted.abort();
    expect(abortedSignal.aborted).toBe(true);
    expect(pool.size).toBe(0);

    // A scope that never made a signal gives nothing back.
    const unused = new AbortScope(pool);
    unused.end();
    expect(unused.aborted).toBe(true);
    expect(pool.size).toBe(0);
  });

  it('reuses one controller a bounded number of times, and keeps a bounded number', () => {
    const pool = new AbortControllerPool();
    const seen = new Set<AbortSignal>();
    for (let i = 0; i < 2500; i++) {
      const scope = new AbortScope(pool);
      seen.add(scope.signal);
      scope.end();
    }
    // 1,000 uses each at most: the third thousand needs a third controller.
    expect(seen.size).toBe(3);

    const many = Array.from({ length: 100 }, () => new AbortScope(pool));
    const signals = many.map((scope) => scope.signal);
    for (const scope of many) scope.end();
    expect(pool.size).toBe(64);
    // The ones beyond the bound were aborted, as without a pool.
    expect(signals.filter((s) => s.aborted)).toHaveLength(36);
  });
});
