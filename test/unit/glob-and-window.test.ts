import { describe, expect, it } from 'vitest';
import { globToRegExp } from '../../src/cache/glob.js';
import { SlidingWindow } from '../../src/metrics/sliding-window.js';

describe('globToRegExp matches like Redis SCAN MATCH', () => {
  it.each([
    ['realty_us:*', 'realty_us:abc', true],
    ['realty_us:*', 'nominatim:abc', false],
    ['*', 'anything:at:all', true],
    ['realty_us:?', 'realty_us:a', true],
    ['realty_us:?', 'realty_us:ab', false],
    ['realty_us:[ab]*', 'realty_us:b1', true],
    ['realty_us:[^ab]*', 'realty_us:b1', false],
    ['realty_us:[a-c]', 'realty_us:b', true],
    ['realty\\*', 'realty*', true],
    ['realty\\*', 'realtyX', false],
    ['a.b', 'aXb', false],
    ['(x)+', '(x)+', true],
  ])('%s vs %s → %s', (pattern, key, expected) => {
    expect(globToRegExp(pattern).test(key)).toBe(expected);
  });
});

describe('sliding window', () => {
  it('counts over the window only and computes rates and percentiles', () => {
    let now = 1_000_000;
    const w = new SlidingWindow(10, () => now);
    for (let i = 0; i < 90; i++) w.recordRequest(0.01);
    for (let i = 0; i < 10; i++) w.recordRequest(2, 'llm');
    w.recordCache(true);
    w.recordCache(false);
    let s = w.snapshot();
    expect(s.requests).toBe(100);
    expect(s.errors).toBe(10);
    expect(s.errorsByType.llm).toBe(10);
    expect(s.p50).toBeGreaterThanOrEqual(0.01);
    expect(s.p50).toBeLessThan(0.0125 + 1e-9);
    expect(s.p99).toBeGreaterThanOrEqual(2);
    expect(s.p99).toBeLessThan(2.5);
    now += 5_000;
    w.recordRequest(0.5);
    expect(w.snapshot().requests).toBe(101);
    now += 6_000; // the first second has left the 10 s window
    s = w.snapshot();
    expect(s.requests).toBe(1);
    expect(s.cacheHits).toBe(0);
    now += 60_000;
    expect(w.snapshot()).toMatchObject({ requests: 0, p50: 0, p99: 0 });
  });
});
