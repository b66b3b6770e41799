import { ToolInputError } from '../tool-input-error.js';

function shown(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'nothing';
  return typeof value;
}

/** The value if it is a finite number, else a {@link ToolInputError} naming `field`. */
export function finite(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ToolInputError(field, `must be a finite number (got ${shown(value)})`);
  return value;
}

/** A finite number greater than zero. */
export function positive(field: string, value: unknown): number {
  const v = finite(field, value);
  if (v <= 0) throw new ToolInputError(field, `must be greater than 0 (got ${v})`);
  return v;
}

/** A finite number of zero or more. */
export function nonNegative(field: string, value: unknown): number {
  const v = finite(field, value);
  if (v < 0) throw new ToolInputError(field, `must not be negative (got ${v})`);
  return v;
}

/** A finite number in [min, max]; a whole number when `integer`. */
export function inRange(field: string, value: unknown, min: number, max: number, integer = false): number {
  const v = finite(field, value);
  if (v < min || v > max) throw new ToolInputError(field, `must be between ${min} and ${max} (got ${v})`);
  if (integer && !Number.isInteger(v)) throw new ToolInputError(field, `must be a whole number (got ${v})`);
  return v;
}

/** `value` validated by `check`, or `fallback` when it is undefined or null. */
export function optional<T>(
  value: T | undefined | null,
  fallback: number,
  check: (v: unknown) => number,
): number {
  return value === undefined || value === null ? fallback : check(value);
}

/** Annual interest rate in percent (6.5 means 6.5 %): 0 to 50. */
export function ratePercent(field: string, value: unknown): number {
  return inRange(field, value, 0, 50);
}

/** Loan term in whole years: 1 to 50. */
export function termYears(field: string, value: unknown): number {
  return inRange(field, value, 1, 50, true);
}
