import { ToolInputError } from '../tool-input-error.js';
import { roundCents, roundTo } from './money.js';
import { monthlyHousingCost } from './mortgage.js';
import { stateTaxRatePercent } from './property-tax.js';
import { nonNegative, optional, positive, ratePercent, termYears } from './validate.js';

/** One property to compare. */
export interface CompareItem {
  /** A name the answer can use: an address or a listing id. */
  readonly label: string;
  readonly price: number;
  readonly sqft?: number;
  readonly beds?: number;
  readonly baths?: number;
  /** Annual tax when known; otherwise estimated from `state` when given. */
  readonly annualPropertyTax?: number;
  readonly monthlyHoa?: number;
  /** Expected rent, for the gross yield. */
  readonly monthlyRent?: number;
}

/** Financing assumptions shared by every property compared. */
export interface CompareOptions {
  /** Default 20. */
  readonly downPaymentPercent?: number;
  /** Omit to skip the monthly cost. */
  readonly annualRatePercent?: number;
  /** Default 30. */
  readonly termYears?: number;
  /** Estimates tax for items that do not give one. */
  readonly state?: string;
  readonly annualInsurance?: number;
}

/** One compared property, rounded for output; null where it cannot be computed. */
export interface ComparedProperty {
  readonly label: string;
  readonly price: number;
  readonly beds: number | null;
  readonly baths: number | null;
  readonly sqft: number | null;
  readonly pricePerSqft: number | null;
  readonly estimatedMonthlyCost: number | null;
  /** Annual rent / price, percent. */
  readonly grossYieldPercent: number | null;
}

/** The comparison: each property, and the label that wins each measure (null when none has it). */
export interface Comparison {
  readonly properties: readonly ComparedProperty[];
  readonly best: {
    readonly lowestPrice: string;
    readonly lowestPricePerSqft: string | null;
    readonly lowestMonthlyCost: string | null;
    readonly highestGrossYield: string | null;
    readonly mostBedrooms: string | null;
  };
}

function pick(
  rows: readonly ComparedProperty[],
  value: (r: ComparedProperty) => number | null,
  lowest: boolean,
): string | null {
  let best: ComparedProperty | undefined;
  for (const r of rows) {
    const v = value(r);
    if (v === null) continue;
    const b = best === undefined ? null : value(best);
    if (b === null || (lowest ? v < b : v > b)) best = r;
  }
  return best?.label ?? null;
}

/** Compares 2 to 10 properties side by side: price per square foot, monthly cost, gross yield. */
export function compareProperties(items: readonly CompareItem[], options: CompareOptions = {}): Comparison {
  if (!Array.isArray(items) || items.length < 2 || items.length > 10)
    throw new ToolInputError('properties', 'give between 2 and 10 properties to compare');
  const down = optional(options.downPaymentPercent, 20, (v) => nonNegative('downPaymentPercent', v));
  const years = optional(options.termYears, 30, (v) => termYears('termYears', v));
  const rate =
    options.annualRatePercent === undefined
      ? undefined
      : ratePercent('annualRatePercent', options.annualRatePercent);
  const taxRate = options.state === undefined ? undefined : stateTaxRatePercent(options.state);
  const insurance = optional(options.annualInsurance, 0, (v) => nonNegative('annualInsurance', v));
  const properties = items.map((item, i): ComparedProperty => {
    const field = (name: string) => `properties[${i}].${name}`;
    if (typeof item.label !== 'string' || item.label.trim() === '')
      throw new ToolInputError(field('label'), 'must be a non-empty name');
    const price = positive(field('price'), item.price);
    const sqft = item.sqft === undefined ? null : positive(field('sqft'), item.sqft);
    const rent = item.monthlyRent === undefined ? null : positive(field('monthlyRent'), item.monthlyRent);
    const tax =
      item.annualPropertyTax !== undefined
        ? nonNegative(field('annualPropertyTax'), item.annualPropertyTax)
        : taxRate !== undefined
          ? (price * taxRate) / 100
          : 0;
    const cost =
      rate === undefined
        ? null
        : monthlyHousingCost({
            price,
            downPaymentPercent: down,
            annualRatePercent: rate,
            termYears: years,
            annualPropertyTax: tax,
            annualInsurance: insurance,
            monthlyHoa: item.monthlyHoa,
          }).totalMonthly;
    return {
      label: item.label.trim().slice(0, 200),
      price: roundCents(price),
      beds: item.beds === undefined ? null : nonNegative(field('beds'), item.beds),
      baths: item.baths === undefined ? null : nonNegative(field('baths'), item.baths),
      sqft,
      pricePerSqft: sqft === null ? null : roundCents(price / sqft),
      estimatedMonthlyCost: cost,
      grossYieldPercent: rent === null ? null : roundTo(((rent * 12) / price) * 100, 2),
    };
  });
  return {
    properties,
    best: {
      lowestPrice: pick(properties, (r) => r.price, true) as string,
      lowestPricePerSqft: pick(properties, (r) => r.pricePerSqft, true),
      lowestMonthlyCost: pick(properties, (r) => r.estimatedMonthlyCost, true),
      highestGrossYield: pick(properties, (r) => r.grossYieldPercent, false),
      mostBedrooms: pick(properties, (r) => r.beds, false),
    },
  };
}
