import { ToolInputError } from '../tool-input-error.js';
import { roundCents, roundTo } from './money.js';
import { exactMonthlyPayment, resolveDownPayment } from './mortgage.js';
import { inRange, nonNegative, optional, positive, ratePercent, termYears } from './validate.js';

/** Input of {@link rentalAnalysis}. Money in dollars; percentages as 5 for 5 %. */
export interface RentalInput {
  readonly price: number;
  readonly monthlyRent: number;
  /** Share of the gross scheduled rent lost to vacancy and bad debt (default 5). */
  readonly vacancyRatePercent?: number;
  readonly annualPropertyTax?: number;
  readonly annualInsurance?: number;
  readonly monthlyHoa?: number;
  /** Maintenance and repairs, percent of the rent collected (default 0). */
  readonly maintenancePercent?: number;
  /** Property management, percent of the rent collected (default 0). */
  readonly managementPercent?: number;
  readonly otherAnnualExpenses?: number;
  /** Financing: omit `annualRatePercent` for an all-cash purchase. */
  readonly downPayment?: number;
  readonly downPaymentPercent?: number;
  readonly annualRatePercent?: number;
  readonly termYears?: number;
  readonly closingCosts?: number;
  readonly rehabCosts?: number;
}

/** Annual figures and ratios, rounded for output. `null` where a ratio is undefined. */
export interface RentalResult {
  readonly grossScheduledRent: number;
  readonly vacancyLoss: number;
  readonly effectiveGrossIncome: number;
  readonly operatingExpenses: {
    readonly propertyTax: number;
    readonly insurance: number;
    readonly hoa: number;
    readonly maintenance: number;
    readonly management: number;
    readonly other: number;
    readonly total: number;
  };
  readonly netOperatingIncome: number;
  /** NOI / price, percent (debt service excluded). */
  readonly capRatePercent: number;
  readonly loanAmount: number;
  readonly annualDebtService: number;
  /** NOI − debt service, before income tax. */
  readonly annualCashFlow: number;
  readonly monthlyCashFlow: number;
  /** Down payment + closing costs + rehab. */
  readonly totalCashInvested: number;
  /** Annual pre-tax cash flow / total cash invested, percent; null when nothing is invested. */
  readonly cashOnCashPercent: number | null;
  /** NOI / debt service; null without a loan. */
  readonly debtServiceCoverageRatio: number | null;
  /** Price / gross scheduled rent. */
  readonly grossRentMultiplier: number;
  /** Operating expenses / effective gross income, percent; null when no rent is collected. */
  readonly operatingExpenseRatioPercent: number | null;
  readonly notes: readonly string[];
}

const pct = (field: string, v: unknown) => inRange(field, v, 0, 100);
const money = (field: string) => (v: unknown) => nonNegative(field, v);

/**
 * Rental investment metrics with the standard definitions: NOI = gross scheduled rent − vacancy −
 * operating expenses (excluding debt service); cap rate = NOI / price; cash flow = NOI − debt
 * service; cash-on-cash = annual pre-tax cash flow / total cash invested (down payment + closing
 * costs + rehab).
 */
export function rentalAnalysis(input: RentalInput): RentalResult {
  const price = positive('price', input.price);
  const rent = positive('monthlyRent', input.monthlyRent);
  const vacancyRate = optional(input.vacancyRatePercent, 5, (v) => pct('vacancyRatePercent', v));
  const tax = optional(input.annualPropertyTax, 0, money('annualPropertyTax'));
  const insurance = optional(input.annualInsurance, 0, money('annualInsurance'));
  const hoa = optional(input.monthlyHoa, 0, money('monthlyHoa')) * 12;
  const maintenanceRate = optional(input.maintenancePercent, 0, (v) => pct('maintenancePercent', v));
  const managementRate = optional(input.managementPercent, 0, (v) => pct('managementPercent', v));
  const other = optional(input.otherAnnualExpenses, 0, money('otherAnnualExpenses'));
  const closing = optional(input.closingCosts, 0, money('closingCosts'));
  const rehab = optional(input.rehabCosts, 0, money('rehabCosts'));

  const financed = input.annualRatePercent !== undefined;
  if (!financed && (input.downPayment !== undefined || input.downPaymentPercent !== undefined))
    throw new ToolInputError('annualRatePercent', 'give the loan rate when giving a down payment');
  const down = financed ? resolveDownPayment(price, input.downPayment, input.downPaymentPercent) : price;
  const loan = price - down;
  const rate = financed ? ratePercent('annualRatePercent', input.annualRatePercent) : 0;
  const years = optional(input.termYears, 30, (v) => termYears('termYears', v));
  const debtService = loan > 0 ? exactMonthlyPayment(loan, rate, years) * 12 : 0;

  const gsr = rent * 12;
  const vacancy = (gsr * vacancyRate) / 100;
  const egi = gsr - vacancy;
  const maintenance = (egi * maintenanceRate) / 100;
  const management = (egi * managementRate) / 100;
  const expenses = tax + insurance + hoa + maintenance + management + other;
  const noi = egi - expenses;
  const cashFlow = noi - debtService;
  const invested = down + closing + rehab;
  const notes: string[] = [];
  if (invested === 0) notes.push('no cash invested: cash-on-cash return is undefined');
  if (noi < 0) notes.push('operating expenses exceed the rent collected (negative NOI)');
  if (cashFlow < 0) notes.push('negative cash flow: the rent does not cover expenses and the loan payment');

  return {
    grossScheduledRent: roundCents(gsr),
    vacancyLoss: roundCents(vacancy),
    effectiveGrossIncome: roundCents(egi),
    operatingExpenses: {
      propertyTax: roundCents(tax),
      insurance: roundCents(insurance),
      hoa: roundCents(hoa),
      maintenance: roundCents(maintenance),
      management: roundCents(management),
      other: roundCents(other),
      total: roundCents(expenses),
    },
    netOperatingIncome: roundCents(noi),
    capRatePercent: roundTo((noi / price) * 100, 2),
    loanAmount: roundCents(loan),
    annualDebtService: roundCents(debtService),
    annualCashFlow: roundCents(cashFlow),
    monthlyCashFlow: roundCents(cashFlow / 12),
    totalCashInvested: roundCents(invested),
    cashOnCashPercent: invested > 0 ? roundTo((cashFlow / invested) * 100, 2) : null,
    debtServiceCoverageRatio: debtService > 0 ? roundTo(noi / debtService, 2) : null,
    grossRentMultiplier: roundTo(price / gsr, 2),
    operatingExpenseRatioPercent: egi > 0 ? roundTo((expenses / egi) * 100, 2) : null,
    notes,
  };
}
