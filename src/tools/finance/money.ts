/**
 * Rounding for output only: every calculation keeps full precision and rounds at the end.
 */

/** Rounds to cents, half away from zero, without binary noise (1.005 -> 1.01); never returns -0. */
export function roundCents(value: number): number {
  return roundTo(value, 2);
}

/** Rounds a percentage (or any ratio) to `digits` decimals, half away from zero. */
export function roundTo(value: number, digits: number): number {
  if (!Number.isFinite(value)) throw new RangeError(`cannot round ${value}`);
  const scale = 10 ** digits;
  const scaled = Number((Math.abs(value) * scale).toPrecision(15));
  const rounded = Math.round(scaled) / scale;
  return rounded === 0 ? 0 : Math.sign(value) * rounded;
}
