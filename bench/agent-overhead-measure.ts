/**
 * Measurement helpers of bench/agent-overhead.bench.ts: alternating rounds of two or more
 * variants in one process, per-round percentiles and their medians, CPU time, and which messages
 * had a garbage-collection pause inside them (so a reader can tell GC from the code's own cost).
 */
import { PerformanceObserver } from 'node:perf_hooks';

/** Two percentiles of a set of latencies, in ms. */
export interface Stats {
  readonly p50: number;
  readonly p99: number;
}

/** p50 and p99 (nearest rank) of `values`. */
export function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
  return { p50: at(50), p99: at(99) };
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** `1.234 ms`. */
export const fmt = (ms: number): string => `${ms.toFixed(3)} ms`;

/** One garbage-collection pause. */
interface Pause {
  readonly start: number;
  readonly end: number;
  /** 'minor' (scavenge) or 'major' (mark-compact and the rest). */
  readonly kind: 'minor' | 'major';
}

/** Records every GC pause while on (perf_hooks `gc` entries, on the performance.now() clock). */
export class GcLog {
  readonly pauses: Pause[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind === 1 ? 'minor' : 'major';
      this.pauses.push({ start: e.startTime, end: e.startTime + e.duration, kind });
    }
  });

  start(): void {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Stops recording, after the entries still queued are delivered. */
  async stop(): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    this.observer.disconnect();
  }

  /** True when a pause overlapped `[start, end]`. */
  hit(start: number, end: number): boolean {
    return this.pauses.some((p) => p.start < end && p.end > start);
  }

  /** Count, median and longest pause of one kind inside the given windows. */
  summary(kind: Pause['kind'], windows: readonly { start: number; end: number }[]): string {
    const inside = this.pauses
      .filter((p) => p.kind === kind && windows.some((w) => p.start >= w.start && p.start <= w.end))
      .map((p) => p.end - p.start);
    if (inside.length === 0) return `${kind} GC: none`;
    return `${kind} GC: ${inside.length} pauses, median ${fmt(median(inside))}, longest ${fmt(Math.max(...inside))}`;
  }
}

/** One variant's results over every round. */
export interface VariantResult {
  readonly name: string;
  /** Per message: latency and its window on the performance.now() clock. */
  readonly messages: { start: number; end: number }[];
  /** The windows of this variant's rounds. */
  readonly rounds: { start: number; end: number; stats: Stats; statsWithoutGc: Stats; gcHit: number }[];
  /** CPU time (user + system) of this variant's rounds, ms. */
  cpuMs: number;
}

/**
 * Runs `rounds` rounds; each round runs every variant `perRound` times in turn (so load on the
 * shared machine falls on all of them alike). No GC is forced between turns: a forced full GC
 * (`gc()`, as this bench once did) shrinks the young generation, releases compiled code and
 * leaves background sweeping behind, so the next few hundred messages paid for re-growing and
 * re-compiling, which a running service never does. Measured here: with it, the core's p99 was
 * about 5.5 ms and three Redis round trips alone had a p99 over 3 ms; without it, 2.5 ms and
 * 0.3 ms. Returns each variant's messages, per-round percentiles (with and without
 * the messages a GC pause landed in) and CPU time.
 */
export async function alternate(
  variants: readonly { name: string; run: () => Promise<void> }[],
  rounds: number,
  perRound: number,
  gc: GcLog,
): Promise<VariantResult[]> {
  const results: VariantResult[] = variants.map((v) => ({
    name: v.name,
    messages: [],
    rounds: [],
    cpuMs: 0,
  }));
  const windows: { result: VariantResult; from: number; to: number; start: number; end: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [i, v] of variants.entries()) {
      const result = results[i] as VariantResult;
      const from = result.messages.length;
      const c0 = process.cpuUsage();
      const start = performance.now();
      for (let n = 0; n < perRound; n++) {
        const t0 = performance.now();
        await v.run();
        result.messages.push({ start: t0, end: performance.now() });
      }
      const c = process.cpuUsage(c0);
      result.cpuMs += (c.user + c.system) / 1000;
      windows.push({ result, from, to: result.messages.length, start, end: performance.now() });
    }
  }
  await gc.stop();
  for (const w of windows) {
    const mine = w.result.messages.slice(w.from, w.to);
    const hit = mine.map((m) => gc.hit(m.start, m.end));
    const all = mine.map((m) => m.end - m.start);
    w.result.rounds.push({
      start: w.start,
      end: w.end,
      stats: stats(all),
      statsWithoutGc: stats(all.filter((_, k) => !hit[k])),
      gcHit: hit.filter(Boolean).length,
    });
  }
  return results;
}

/**
 * Burns `ms` of this process's CPU time (not wall time: if the scheduler takes the CPU away, the
 * burn takes longer, as real work would). A calibration: the latency tail of work that needs no
 * I/O, no allocation and no GC, on this machine under its current load.
 */
export function burnCpu(ms: number): void {
  const c0 = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 2000; i++) x = (x + i * 7) % 1_000_003;
    const c = process.cpuUsage(c0);
    if ((c.user + c.system) / 1000 >= ms) break;
  }
  if (x < 0) throw new Error('unreachable');
}

/** Medians over rounds of each round's p50 and p99 (all messages, or those without a GC pause). */
export function medianOfRounds(r: VariantResult, withoutGc = false): Stats {
  const pick = (x: VariantResult['rounds'][number]) => (withoutGc ? x.statsWithoutGc : x.stats);
  return { p50: median(r.rounds.map((x) => pick(x).p50)), p99: median(r.rounds.map((x) => pick(x).p99)) };
}

/** Prints the table of one comparison and returns the added p99 (all messages). */
export function report(core: VariantResult, model: VariantResult, gc: GcLog): number {
  const head = `${''.padEnd(34)}${'p50'.padStart(11)}${'p99'.padStart(11)}${'CPU/msg'.padStart(11)}`;
  console.log(`${head}${'GC inside'.padStart(11)}${'p50 no GC'.padStart(11)}${'p99 no GC'.padStart(11)}`);
  for (const r of [core, model]) {
    const all = medianOfRounds(r);
    const clean = medianOfRounds(r, true);
    const hit = r.rounds.reduce((a, x) => a + x.gcHit, 0) / r.messages.length;
    console.log(
      `${r.name.padEnd(34)}${fmt(all.p50).padStart(11)}${fmt(all.p99).padStart(11)}` +
        `${fmt(r.cpuMs / r.messages.length).padStart(11)}${`${(hit * 100).toFixed(1)} %`.padStart(11)}` +
        `${fmt(clean.p50).padStart(11)}${fmt(clean.p99).padStart(11)}`,
    );
  }
  const a = medianOfRounds(core);
  const d = medianOfRounds(model);
  const ac = medianOfRounds(core, true);
  const dc = medianOfRounds(model, true);
  console.log(
    `added: p50 ${fmt(a.p50 - d.p50)}, p99 ${fmt(a.p99 - d.p99)} (ratio p50 ${(a.p50 / d.p50).toFixed(1)}x, ` +
      `p99 ${(a.p99 / d.p99).toFixed(1)}x); without the messages a GC pause landed in: p50 ` +
      `${fmt(ac.p50 - dc.p50)}, p99 ${fmt(ac.p99 - dc.p99)}`,
  );
  console.log(
    `  during the first rows' rounds: ${gc.summary('minor', core.rounds)}; ${gc.summary('major', core.rounds)}`,
  );
  console.log(
    `  during the second rows' rounds: ${gc.summary('minor', model.rounds)}; ${gc.summary('major', model.rounds)}`,
  );
  return a.p99 - d.p99;
}
