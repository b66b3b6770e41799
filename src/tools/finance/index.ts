/**
 * Exact, LLM-free real-estate maths for the agent's financial tools. Every function validates its
 * input (a {@link ToolInputError} names the bad field; never NaN or Infinity out), computes at full
 * precision and rounds money to cents only in its result.
 */

export { ToolInputError } from '../tool-input-error.js';
export { type AffordabilityInput, type AffordabilityResult, affordability } from './affordability.js';
export {
  type ComparedProperty,
  type CompareItem,
  type CompareOptions,
  type Comparison,
  compareProperties,
} from './compare.js';
export { roundCents, roundTo } from './money.js';
export {
  type AmortizationSummary,
  type AmortizationYear,
  amortizationSummary,
  exactMonthlyPayment,
  type HousingCost,
  type HousingCostInput,
  type LoanInput,
  type MortgageResult,
  monthlyHousingCost,
  mortgagePayment,
  resolveDownPayment,
} from './mortgage.js';
export {
  normalizeState,
  type PropertyTaxInput,
  type PropertyTaxResult,
  propertyTax,
  STATE_PROPERTY_TAX_RATES,
  type StateCode,
  stateTaxRatePercent,
} from './property-tax.js';
export { type RentalInput, type RentalResult, rentalAnalysis } from './rental.js';
