import { ToolInputError } from '../tool-input-error.js';
import { roundCents, roundTo } from './money.js';
import { inRange, positive } from './validate.js';

/**
 * Effective property tax rates on owner-occupied housing, by state (percent of market value per
 * year). Source: Tax Foundation, "How High Are Property Taxes in Your State?" (2021), computed
 * from the U.S. Census Bureau's American Community Survey for calendar year 2019 (median real
 * estate taxes paid over median home value). Statewide averages: actual bills vary widely by
 * county, city and school district, and with exemptions (homestead, senior); treat the result as
 * an estimate and say so. Update the table (and this comment) when refreshing the data.
 */
export const STATE_PROPERTY_TAX_RATES = {
  AL: { name: 'Alabama', ratePercent: 0.37 },
  AK: { name: 'Alaska', ratePercent: 1.04 },
  AZ: { name: 'Arizona', ratePercent: 0.6 },
  AR: { name: 'Arkansas', ratePercent: 0.57 },
  CA: { name: 'California', ratePercent: 0.71 },
  CO: { name: 'Colorado', ratePercent: 0.49 },
  CT: { name: 'Connecticut', ratePercent: 1.7 },
  DE: { name: 'Delaware', ratePercent: 0.56 },
  DC: { name: 'District of Columbia', ratePercent: 0.55 },
  FL: { name: 'Florida', ratePercent: 0.83 },
  GA: { name: 'Georgia', ratePercent: 0.85 },
  HI: { name: 'Hawaii', ratePercent: 0.31 },
  ID: { name: 'Idaho', ratePercent: 0.66 },
  IL: { name: 'Illinois', ratePercent: 1.97 },
  IN: { name: 'Indiana', ratePercent: 0.78 },
  IA: { name: 'Iowa', ratePercent: 1.43 },
  KS: { name: 'Kansas', ratePercent: 1.33 },
  KY: { name: 'Kentucky', ratePercent: 0.8 },
  LA: { name: 'Louisiana', ratePercent: 0.51 },
  ME: { name: 'Maine', ratePercent: 1.21 },
  MD: { name: 'Maryland', ratePercent: 1.01 },
  MA: { name: 'Massachusetts', ratePercent: 1.12 },
  MI: { name: 'Michigan', ratePercent: 1.36 },
  MN: { name: 'Minnesota', ratePercent: 1.05 },
  MS: { name: 'Mississippi', ratePercent: 0.75 },
  MO: { name: 'Missouri', ratePercent: 0.93 },
  MT: { name: 'Montana', ratePercent: 0.76 },
  NE: { name: 'Nebraska', ratePercent: 1.54 },
  NV: { name: 'Nevada', ratePercent: 0.56 },
  NH: { name: 'New Hampshire', ratePercent: 1.89 },
  NJ: { name: 'New Jersey', ratePercent: 2.13 },
  NM: { name: 'New Mexico', ratePercent: 0.73 },
  NY: { name: 'New York', ratePercent: 1.3 },
  NC: { name: 'North Carolina', ratePercent: 0.78 },
  ND: { name: 'North Dakota', ratePercent: 0.94 },
  OH: { name: 'Ohio', ratePercent: 1.41 },
  OK: { name: 'Oklahoma', ratePercent: 0.85 },
  OR: { name: 'Oregon', ratePercent: 0.88 },
  PA: { name: 'Pennsylvania', ratePercent: 1.42 },
  RI: { name: 'Rhode Island', ratePercent: 1.4 },
  SC: { name: 'South Carolina', ratePercent: 0.53 },
  SD: { name: 'South Dakota', ratePercent: 1.17 },
  TN: { name: 'Tennessee', ratePercent: 0.64 },
  TX: { name: 'Texas', ratePercent: 1.66 },
  UT: { name: 'Utah', ratePercent: 0.56 },
  VT: { name: 'Vermont', ratePercent: 1.72 },
  VA: { name: 'Virginia', ratePercent: 0.8 },
  WA: { name: 'Washington', ratePercent: 0.87 },
  WV: { name: 'West Virginia', ratePercent: 0.55 },
  WI: { name: 'Wisconsin', ratePercent: 1.61 },
  WY: { name: 'Wyoming', ratePercent: 0.51 },
} as const satisfies Record<string, { name: string; ratePercent: number }>;

/** A two-letter code of the 50 states or DC. */
export type StateCode = keyof typeof STATE_PROPERTY_TAX_RATES;

const BY_NAME = new Map<string, StateCode>(
  (Object.entries(STATE_PROPERTY_TAX_RATES) as [StateCode, { name: string }][]).map(([code, s]) => [
    s.name.toLowerCase(),
    code,
  ]),
);
BY_NAME.set('washington dc', 'DC');
BY_NAME.set('washington, dc', 'DC');
BY_NAME.set('washington d.c.', 'DC');

/** `TX`, `tx`, `Texas` or `texas` to `TX`; a {@link ToolInputError} for anything else. */
export function normalizeState(input: unknown, field = 'state'): StateCode {
  if (typeof input !== 'string')
    throw new ToolInputError(field, 'must be a US state name or two-letter code');
  const trimmed = input.trim().replace(/\s+/g, ' ');
  const upper = trimmed.toUpperCase();
  if (upper in STATE_PROPERTY_TAX_RATES) return upper as StateCode;
  const named = BY_NAME.get(trimmed.toLowerCase());
  if (named) return named;
  throw new ToolInputError(field, `"${trimmed.slice(0, 40)}" is not a US state name or two-letter code`);
}

/** The effective rate (percent) for a state. */
export function stateTaxRatePercent(state: string): number {
  return STATE_PROPERTY_TAX_RATES[normalizeState(state)].ratePercent;
}

/** Input of {@link propertyTax}: a value and a state, or a value and an explicit rate. */
export interface PropertyTaxInput {
  readonly homeValue: number;
  readonly state?: string;
  /** Overrides the state average (a local rate the user knows), 0 to 10 percent. */
  readonly ratePercent?: number;
}

/** An annual and monthly property tax estimate. */
export interface PropertyTaxResult {
  readonly homeValue: number;
  readonly state: StateCode | null;
  readonly stateName: string | null;
  readonly effectiveRatePercent: number;
  readonly annualTax: number;
  readonly monthlyTax: number;
  /** Where the rate comes from, for the answer. */
  readonly basis: string;
}

/** Estimates property tax from a state's effective rate (or a given rate). */
export function propertyTax(input: PropertyTaxInput): PropertyTaxResult {
  const value = positive('homeValue', input.homeValue);
  const code = input.state === undefined ? null : normalizeState(input.state);
  if (code === null && input.ratePercent === undefined)
    throw new ToolInputError('state', 'give a state (or ratePercent) to estimate property tax');
  const rate =
    input.ratePercent !== undefined
      ? inRange('ratePercent', input.ratePercent, 0, 10)
      : STATE_PROPERTY_TAX_RATES[code as StateCode].ratePercent;
  const annual = (value * rate) / 100;
  return {
    homeValue: roundCents(value),
    state: code,
    stateName: code === null ? null : STATE_PROPERTY_TAX_RATES[code].name,
    effectiveRatePercent: roundTo(rate, 4),
    annualTax: roundCents(annual),
    monthlyTax: roundCents(annual / 12),
    basis:
      input.ratePercent !== undefined
        ? 'rate given by the user'
        : 'statewide average effective rate on owner-occupied homes (Tax Foundation, ACS 2019); local rates vary',
  };
}
