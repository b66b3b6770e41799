import { describe, expect, it } from 'vitest';
import { abortReason, raceSignal, sleep } from '../../src/core/abort.js';
import { AbortScope, offStop, onStop, signalOf } from '../../src/core/abort-scope.js';

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
