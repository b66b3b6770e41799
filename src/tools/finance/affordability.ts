import { ToolInputError } from '../tool-input-error.js';
import { roundCents, roundTo } from './money.js';
import { exactMonthlyPayment } from './mortgage.js';
import { stateTaxRatePercent } from './property-tax.js';
import { inRange, nonNegative, optional, positive, ratePercent, termYears } from './validate.js';

/** Input of {@link affordability}. */
export interface AffordabilityInput {
  /** Gross annual household income (> 0). */
  readonly annualIncome: number;
  /** Other monthly debt payments: car, student loans, card minimums (default 0). */
  readonly monthlyDebts?: number;
  /** Cash for the down payment (default 0). */
  readonly downPayment?: number;
  readonly annualRatePercent: number;
  /** Default 30. */
  readonly termYears?: number;
  /** Property tax as a percent of the price per year; or give `state` for its average. */
  readonly propertyTaxRatePercent?: number;
  readonly state?: string;
  readonly annualInsurance?: number;
  readonly monthlyHoa?: number;
  /** Housing costs over gross monthly income, percent (default 28). */
  readonly frontEndRatioPercent?: number;
  /** All debts including housing over gross monthly income, percent (default 36). */
  readonly backEndRatioPercent?: number;
}

/** The most expensive home the rules allow, with its monthly payment, rounded to cents. */
export interface AffordabilityResult {
  readonly maxHomePrice: number;
  readonly loanAmount: number;
  readonly downPayment: number;
  /** The housing payment the ratios allow. */
  readonly maxMonthlyHousingPayment: number;
  /** Which ratio binds: housing alone (front end) or all debts (back end). */
  readonly limitedBy: 'front_end' | 'back_end';
  readonly monthly: {
    readonly principalAndInterest: number;
    readonly propertyTax: number;
    readonly insurance: number;
    readonly hoa: number;
    readonly total: number;
  };
  readonly propertyTaxRatePercent: number;
  readonly frontEndRatioPercent: number;
  readonly backEndRatioPercent: number;
  readonly notes: readonly string[];
}

/**
 * The maximum home price under the front-end / back-end debt-to-income rules (28/36 by default):
 * the housing payment B = min(income/12 · front, income/12 · back − debts) must cover principal and
 * interest on (price − down payment), tax at a rate of the price, insurance and HOA. With k the
 * payment per dollar borrowed and t the monthly tax rate: price = (B − fixed + down·k) / (k + t).
 */
export function affordability(input: AffordabilityInput): AffordabilityResult {
  const income = positive('annualIncome', input.annualIncome);
  const debts = optional(input.monthlyDebts, 0, (v) => nonNegative('monthlyDebts', v));
  const down = optional(input.downPayment, 0, (v) => nonNegative('downPayment', v));
  const rate = ratePercent('annualRatePercent', input.annualRatePercent);
  const years = optional(input.termYears, 30, (v) => termYears('termYears', v));
  const insurance = optional(input.annualInsurance, 0, (v) => nonNegative('annualInsurance', v)) / 12;
  const hoa = optional(input.monthlyHoa, 0, (v) => nonNegative('monthlyHoa', v));
  const front = optional(input.frontEndRatioPercent, 28, (v) => inRange('frontEndRatioPercent', v, 1, 100));
  const back = optional(input.backEndRatioPercent, 36, (v) => inRange('backEndRatioPercent', v, 1, 100));
  if (input.propertyTaxRatePercent !== undefined && input.state !== undefined)
    throw new ToolInputError('propertyTaxRatePercent', 'give propertyTaxRatePercent or state, not both');
  const notes: string[] = [];
  let taxRate = 0;
  if (input.propertyTaxRatePercent !== undefined)
    taxRate = inRange('propertyTaxRatePercent', input.propertyTaxRatePercent, 0, 10);
  else if (input.state !== undefined) taxRate = stateTaxRatePercent(input.state);
  else notes.push('property tax not included: give a state or a tax rate for a fuller estimate');

  const monthlyIncome = income / 12;
  const frontLimit = (monthlyIncome * front) / 100;
  const backLimit = (monthlyIncome * back) / 100 - debts;
  const budget = Math.min(frontLimit, backLimit);
  const limitedBy = frontLimit <= backLimit ? 'front_end' : 'back_end';
  const k = exactMonthlyPayment(1, rate, years);
  const t = taxRate / 100 / 12;
  const room = budget - insurance - hoa;

  let price = 0;
  if (room <= 0) {
    notes.push('existing debts, insurance and HOA already use the whole allowed payment');
  } else {
    price = (room + down * k) / (k + t);
    if (price < down) {
      // Even a loan of zero leaves the tax on a home worth the whole down payment unaffordable.
      price = t > 0 ? room / t : down;
      notes.push('the down payment exceeds what the tax budget allows: no loan needed');
    }
  }
  const loan = Math.max(0, price - down);
  const pi = loan * k;
  const tax = price * t;
  const spent = price > 0 ? pi + tax + insurance + hoa : 0;
  return {
    maxHomePrice: roundCents(price),
    loanAmount: roundCents(loan),
    downPayment: roundCents(Math.min(down, price)),
    maxMonthlyHousingPayment: roundCents(Math.max(0, budget)),
    limitedBy,
    monthly: {
      principalAndInterest: roundCents(pi),
      propertyTax: roundCents(tax),
      insurance: roundCents(price > 0 ? insurance : 0),
      hoa: roundCents(price > 0 ? hoa : 0),
      total: roundCents(spent),
    },
    propertyTaxRatePercent: roundTo(taxRate, 4),
    frontEndRatioPercent: front,
    backEndRatioPercent: back,
    notes,
  };
}
