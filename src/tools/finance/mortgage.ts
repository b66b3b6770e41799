import { ToolInputError } from '../tool-input-error.js';
import { roundCents } from './money.js';
import { nonNegative, positive, ratePercent, termYears } from './validate.js';

/** A fixed-rate, fully amortising loan. */
export interface LoanInput {
  /** Amount borrowed, in dollars (> 0). */
  readonly principal: number;
  /** Annual nominal rate in percent (6.5 = 6.5 %), 0 to 50; compounded monthly. */
  readonly annualRatePercent: number;
  /** Whole years, 1 to 50. */
  readonly termYears: number;
}

/** Monthly payment and totals, rounded to cents. */
export interface MortgageResult {
  readonly principal: number;
  readonly annualRatePercent: number;
  readonly termYears: number;
  readonly numberOfPayments: number;
  readonly monthlyPayment: number;
  readonly totalPaid: number;
  readonly totalInterest: number;
}

/** One year of an amortisation schedule, rounded to cents. */
export interface AmortizationYear {
  readonly year: number;
  readonly principalPaid: number;
  readonly interestPaid: number;
  readonly endingBalance: number;
}

/** {@link MortgageResult} with a year-by-year schedule. */
export interface AmortizationSummary extends MortgageResult {
  readonly years: readonly AmortizationYear[];
  /** First year whose ending balance is at most half the principal. */
  readonly halfPaidOffYear: number;
}

/**
 * The unrounded monthly payment of a loan: M = L·r(1+r)^n / ((1+r)^n − 1) with r the monthly rate
 * and n the number of months; L/n when the rate is zero. Inputs are validated.
 */
export function exactMonthlyPayment(principal: number, annualRate: number, years: number): number {
  const L = nonNegative('principal', principal);
  const r = ratePercent('annualRatePercent', annualRate) / 100 / 12;
  const n = termYears('termYears', years) * 12;
  if (L === 0) return 0;
  if (r === 0) return L / n;
  const growth = (1 + r) ** n;
  return (L * r * growth) / (growth - 1);
}

/**
 * Monthly principal-and-interest payment and lifetime totals.
 * 400,000 at 6.5 % over 30 years: 2,528.27 a month, 510,177.95 of interest.
 */
export function mortgagePayment(input: LoanInput): MortgageResult {
  const principal = positive('principal', input.principal);
  const payment = exactMonthlyPayment(principal, input.annualRatePercent, input.termYears);
  const n = input.termYears * 12;
  return {
    principal: roundCents(principal),
    annualRatePercent: input.annualRatePercent,
    termYears: input.termYears,
    numberOfPayments: n,
    monthlyPayment: roundCents(payment),
    totalPaid: roundCents(payment * n),
    totalInterest: roundCents(payment * n - principal),
  };
}

/** {@link mortgagePayment} plus a yearly schedule (principal and interest paid, balance left). */
export function amortizationSummary(input: LoanInput): AmortizationSummary {
  const base = mortgagePayment(input);
  const r = input.annualRatePercent / 100 / 12;
  const payment = exactMonthlyPayment(input.principal, input.annualRatePercent, input.termYears);
  let balance = input.principal;
  let halfPaidOffYear: number | undefined;
  const years: AmortizationYear[] = [];
  for (let year = 1; year <= input.termYears; year++) {
    let interestPaid = 0;
    let principalPaid = 0;
    for (let m = 0; m < 12; m++) {
      const interest = balance * r;
      const toPrincipal = Math.min(balance, payment - interest);
      interestPaid += interest;
      principalPaid += toPrincipal;
      balance -= toPrincipal;
    }
    // Floating-point dust after the last payment is zero.
    if (balance < 0.005) balance = 0;
    if (halfPaidOffYear === undefined && balance <= input.principal / 2) halfPaidOffYear = year;
    years.push({
      year,
      principalPaid: roundCents(principalPaid),
      interestPaid: roundCents(interestPaid),
      endingBalance: roundCents(balance),
    });
  }
  return { ...base, years, halfPaidOffYear: halfPaidOffYear ?? input.termYears };
}

/**
 * The down payment in dollars from either an amount or a percentage of the price (20 % when
 * neither is given). Giving both, or more than the price, is an error.
 */
export function resolveDownPayment(price: number, downPayment?: number, downPaymentPercent?: number): number {
  if (downPayment !== undefined && downPaymentPercent !== undefined)
    throw new ToolInputError('downPayment', 'give downPayment or downPaymentPercent, not both');
  const down =
    downPayment !== undefined
      ? nonNegative('downPayment', downPayment)
      : (price *
          (downPaymentPercent === undefined ? 20 : percent('downPaymentPercent', downPaymentPercent))) /
        100;
  if (down > price) throw new ToolInputError('downPayment', `must not exceed the price (${price})`);
  return down;
}

function percent(field: string, value: unknown): number {
  const v = nonNegative(field, value);
  if (v > 100) throw new ToolInputError(field, `must be at most 100 (got ${v})`);
  return v;
}

/** Input of {@link monthlyHousingCost}. */
export interface HousingCostInput {
  readonly price: number;
  readonly downPayment?: number;
  readonly downPaymentPercent?: number;
  readonly annualRatePercent: number;
  readonly termYears: number;
  /** Annual property tax in dollars (see `propertyTax` for a state estimate). */
  readonly annualPropertyTax?: number;
  readonly annualInsurance?: number;
  readonly monthlyHoa?: number;
  /** Private mortgage insurance, annual percent of the loan, charged while the down payment is under 20 %. */
  readonly pmiRatePercent?: number;
}

/** A monthly housing payment (PITI + HOA + PMI), rounded to cents. */
export interface HousingCost {
  readonly price: number;
  readonly downPayment: number;
  readonly loanAmount: number;
  readonly principalAndInterest: number;
  readonly propertyTax: number;
  readonly insurance: number;
  readonly hoa: number;
  readonly pmi: number;
  readonly totalMonthly: number;
}

/** The full monthly cost of owning: principal and interest, tax, insurance, HOA and PMI. */
export function monthlyHousingCost(input: HousingCostInput): HousingCost {
  const price = positive('price', input.price);
  const down = resolveDownPayment(price, input.downPayment, input.downPaymentPercent);
  const loan = price - down;
  const pi = exactMonthlyPayment(loan, input.annualRatePercent, input.termYears);
  const tax = nonNegative('annualPropertyTax', input.annualPropertyTax ?? 0) / 12;
  const insurance = nonNegative('annualInsurance', input.annualInsurance ?? 0) / 12;
  const hoa = nonNegative('monthlyHoa', input.monthlyHoa ?? 0);
  const pmiRate = percent('pmiRatePercent', input.pmiRatePercent ?? 0);
  const pmi = down < price * 0.2 ? (loan * pmiRate) / 100 / 12 : 0;
  return {
    price: roundCents(price),
    downPayment: roundCents(down),
    loanAmount: roundCents(loan),
    principalAndInterest: roundCents(pi),
    propertyTax: roundCents(tax),
    insurance: roundCents(insurance),
    hoa: roundCents(hoa),
    pmi: roundCents(pmi),
    totalMonthly: roundCents(pi + tax + insurance + hoa + pmi),
  };
}
