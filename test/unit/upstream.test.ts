import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/abort.js';
import type { AbortScope } from '../../src/core/abort-scope.js';
import { AppError, OverloadedError, statusOf, typeOf } from '../../src/core/errors.js';
import { SharedFlight } from '../../src/core/shared-flight.js';
import { classifyUpstreamError } from '../../src/upstream/classify.js';
import { UpstreamLimiter } from '../../src/upstream/limiter.js';
import { RequestSignal } from '../../src/upstream/request-signal.js';
import { SharedReservoir } from '../../src/upstream/reservoir.js';
import { backoffDelay, type RetryPolicy, withRetries } from '../../src/upstream/retry.js';
import {
  kindOfStatus,
  parseRetryAfter,
  UpstreamError,
  upstreamCode,
} from '../../src/upstream/upstream-error.js';

const policy: RetryPolicy = { maxRetries: 3, baseDelayMs: 10, maxDelayMs: 40, maxRetryAfterMs: 1000 };
const fail = (kind: 'quota' | 'server' | 'auth', retryAfterMs?: number) =>
  new UpstreamError({ upstream: 'realty_us', type: 'api', kind, retryAfterMs });

describe('upstream errors', () => {
  it('map kinds to codes, statuses and metric types for api and llm', () => {
    expect(upstreamCode('api', 'auth')).toBe('upstream_auth');
    expect(upstreamCode('llm', 'auth')).toBe('llm_auth');
    expect(upstreamCode('llm', 'server')).toBe('llm_error');
    expect(statusOf('upstream_quota')).toBe(503);
    expect(statusOf('upstream_timeout')).toBe(504);
    expect(typeOf('llm_timeout')).toBe('llm');
    expect(typeOf('upstream_auth')).toBe('api');
    const e = new UpstreamError({
      upstream: 'realty_us',
      type: 'api',
      kind: 'quota',
      httpStatus: 429,
      retryAfterMs: 2000,
    });
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ code: 'upstream_quota', status: 503, retryable: true, retryAfterMs: 2000 });
    expect(e.message).toBe('realty_us rate limit or quota exhausted (HTTP 429)');
    expect(e.details).toEqual({ upstream: 'realty_us' });
    expect(new UpstreamError({ upstream: 'x', type: 'api', kind: 'auth' }).retryable).toBe(false);
  });

  it('classify statuses', () => {
    expect([401, 403, 429, 408, 500, 503, 400, 404, 200].map(kindOfStatus)).toEqual([
      'auth',
      'auth',
      'quota',
      'server',
      'server',
      'server',
      'bad_request',
      'bad_request',
      undefined,
    ]);
  });

  it('parse Retry-After as seconds, an HTTP date, or retry-after-ms', () => {
    const now = Date.parse('2025-05-15T12:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 15 May 2025 12:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 15 May 2025 11:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(new Headers())).toBeUndefined();
  });

  it('classify SDK errors, finding our own errors in the cause chain', () => {
    const sdk401 = Object.assign(new Error('401 Incorrect API key'), { status: 401, headers: new Headers() });
    expect(classifyUpstreamError(sdk401, 'llm', 'llm')).toMatchObject({ code: 'llm_auth', httpStatus: 401 });
    const sdk429 = Object.assign(new Error('429'), {
      status: 429,
      headers: new Headers({ 'retry-after': '7' }),
    });
    expect(classifyUpstreamError(sdk429, 'llm', 'llm')).toMatchObject({
      code: 'llm_quota',
      retryAfterMs: 7000,
    });
    const shed = new OverloadedError(1000);
    expect(classifyUpstreamError(new Error('Connection error.', { cause: shed }), 'llm', 'llm')).toBe(shed);
    const timeout = new DOMException('timed out', 'TimeoutError');
    expect(classifyUpstreamError(timeout, 'llm', 'llm').code).toBe('llm_timeout');
    expect(classifyUpstreamError(new Error('Connection error.'), 'llm', 'llm').code).toBe('llm_error');
  });
});

describe('retries', () => {
  it('back off exponentially with jitter, capped, Retry-After as a floor', () => {
    expect(backoffDelay(policy, 1, () => 0)).toBe(5);
    expect(backoffDelay(policy, 1, () => 0.999999)).toBe(10);
    expect(backoffDelay(policy, 3, () => 0)).toBe(20);
    expect(backoffDelay(policy, 10, () => 0.999999)).toBe(40);
    expect(backoffDelay(policy, 1, () => 0, 500)).toBe(500);
    expect(backoffDelay(policy, 1, () => 0.5, 500)).toBe(505);
  });

  it('retry retryable failures until success', async () => {
    let calls = 0;
    const retries: number[] = [];
    const value = await withRetries(
      async () => {
        calls++;
        if (calls < 3) throw fail(calls === 1 ? 'quota' : 'server', calls === 1 ? 20 : undefined);
        return 'ok';
      },
      policy,
      { onRetry: (e) => retries.push(e.delayMs) },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(retries[0]).toBeGreaterThanOrEqual(20);
  });

  it('never retry auth errors; stop after maxRetries', async () => {
    let calls = 0;
    await expect(
      withRetries(async () => {
        calls++;
        throw fail('auth');
      }, policy),
    ).rejects.toMatchObject({ code: 'upstream_auth' });
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withRetries(async () => {
        calls++;
        throw fail('server');
      }, policy),
    ).rejects.toMatchObject({ kind: 'server' });
    expect(calls).toBe(4);
  });

  it('give up at once when Retry-After is too long or past the deadline', async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      withRetries(async () => {
        calls++;
        throw fail('quota', 5000);
      }, policy),
    ).rejects.toMatchObject({ code: 'upstream_quota', retryAfterMs: 5000 });
    await expect(
      withRetries(
        async () => {
          calls++;
          throw fail('quota', 500);
        },
        policy,
        { deadline: Date.now() + 100 },
      ),
    ).rejects.toMatchObject({ retryAfterMs: 500 });
    expect(calls).toBe(2);
    expect(Date.now() - started).toBeLessThan(100);
  });

  it('stop waiting as soon as the signal aborts, with its reason', async () => {
    const controller = new AbortController();
    const reason = new Error('client went away');
    setTimeout(() => controller.abort(reason), 20);
    const started = Date.now();
    await expect(
      withRetries(
        async () => {
          throw fail('quota', 800);
        },
        policy,
        { signal: controller.signal },
      ),
    ).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(400);
  });
});

describe('shared reservoir (memory store)', () => {
  it('allows `limit` per sliding interval and says how long to wait', async () => {
    let now = 10_000;
    const r = new SharedReservoir({ name: 'nominatim', limit: 2, intervalMs: 1000, now: () => now });
    expect((await r.tryTake()).granted).toBe(true);
    now += 400;
    expect((await r.tryTake()).granted).toBe(true);
    expect(await r.tryTake()).toEqual({ granted: false, waitMs: 600 });
    now += 600;
    expect((await r.tryTake()).granted).toBe(true);
    expect(await r.tryTake()).toEqual({ granted: false, waitMs: 400 });
  });

  it('refuses a wait past the deadline with OverloadedError, and is off at limit 0', async () => {
    const r = new SharedReservoir({ name: 'x', limit: 1, intervalMs: 60_000 });
    await r.take();
    await expect(r.take({ deadline: Date.now() + 50 })).rejects.toBeInstanceOf(OverloadedError);
    const off = new SharedReservoir({ name: 'y', limit: 0, intervalMs: 1000 });
    for (let i = 0; i < 100; i++) expect((await off.tryTake()).granted).toBe(true);
  });
});

describe('upstream limiter', () => {
  it('bounds concurrency and sheds beyond the queue with OverloadedError', async () => {
    const limiter = new UpstreamLimiter({
      name: 'realty_us',
      settings: { maxConcurrent: 2, reservoir: 0, reservoirIntervalMs: 1000, queueLimit: 3 },
    });
    let running = 0;
    let peak = 0;
    const job = () =>
      limiter.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(20);
        running--;
        return 1;
      });
    const results = await Promise.allSettled(Array.from({ length: 8 }, job));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const shed = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (r as PromiseRejectedResult).reason);
    expect(shed).toHaveLength(3);
    for (const e of shed) expect(e).toMatchObject({ code: 'overloaded', status: 503, retryAfterMs: 1000 });
    expect(peak).toBe(2);
    expect(limiter.running + limiter.queued).toBe(0);
    await limiter.stop();
  });

  it('lets a queued caller leave when its signal aborts; the job then never runs', async () => {
    const limiter = new UpstreamLimiter({
      name: 'llm',
      settings: { maxConcurrent: 1, reservoir: 0, reservoirIntervalMs: 1000, queueLimit: 5 },
    });
    let ran = 0;
    const blocker = limiter.run(() => sleep(60));
    const controller = new AbortController();
    const queued = limiter.run(
      async () => {
        ran++;
      },
      { signal: controller.signal },
    );
    controller.abort(new Error('gone'));
    await expect(queued).rejects.toThrow('gone');
    await blocker;
    await sleep(10);
    expect(ran).toBe(0);
    expect(limiter.queued).toBe(0);
    await limiter.stop();
    await expect(limiter.run(async () => 1)).rejects.toMatchObject({ code: 'shutting_down' });
  });
});

describe('request signal', () => {
  it("aborts with the caller's reason, or at its time with a TimeoutError, and unlinks when released", async () => {
    const caller = new AbortController();
    const byCaller = new RequestSignal(caller.signal, 10_000, 'realty_us');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    caller.abort(new Error('the user left'));
    expect(byCaller.signal.aborted).toBe(true);
    expect((byCaller.signal.reason as Error).message).toBe('the user left');
    expect(byCaller.timedOut).toBe(false);
    byCaller.release();

    const long = new AbortController();
    const byTime = new RequestSignal(long.signal, 20, 'nominatim');
    await sleep(60);
    expect(byTime.timedOut).toBe(true);
    expect(byTime.signal.reason).toMatchObject({ name: 'TimeoutError', message: 'nominatim timed out' });
    expect(long.signal.aborted).toBe(false);
    byTime.release();
    expect(getEventListeners(long.signal, 'abort')).toHaveLength(0);

    const released = new RequestSignal(long.signal, 20, 'overpass');
    released.release();
    await sleep(60);
    expect(released.signal.aborted).toBe(false);
    long.abort();
    expect(released.signal.aborted).toBe(false);

    const gone = new AbortController();
    gone.abort(new Error('before'));
    const late = new RequestSignal(gone.signal, 10_000, 'llm');
    expect((late.signal.reason as Error).message).toBe('before');
    late.release();
    const alone = new RequestSignal(undefined, 10_000, 'llm');
    expect(alone.signal.aborted).toBe(false);
    alone.release();
  });
});

describe('shared flight', () => {
  it('runs the work once for concurrent callers', async () => {
    const flight = new SharedFlight();
    let runs = 0;
    const work = async () => {
      runs++;
      await sleep(20);
      return 42;
    };
    const all = await Promise.all(Array.from({ length: 10 }, () => flight.run('k', work)));
    expect(all).toEqual(Array(10).fill(42));
    expect(runs).toBe(1);
    expect(flight.size).toBe(0);
  });

  it('one caller leaving does not stop the work; all leaving aborts it', async () => {
    const flight = new SharedFlight();
    let workScope: AbortScope | undefined;
    const work = (scope: AbortScope) => {
      workScope = scope;
      return sleep(200, scope).then(() => 'done');
    };
    const a = new AbortController();
    const b = new AbortController();
    const pa = flight.run('k', work, a.signal);
    const pb = flight.run('k', work, b.signal);
    a.abort(new Error('a left'));
    await expect(pa).rejects.toThrow('a left');
    expect(workScope?.aborted).toBe(false);
    b.abort(new Error('b left'));
    await expect(pb).rejects.toThrow('b left');
    expect(workScope?.aborted).toBe(true);
    expect(workScope?.reason).toMatchObject({ message: 'b left' });
    expect(flight.size).toBe(0);
  });
});
