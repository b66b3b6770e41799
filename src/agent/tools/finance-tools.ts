import type { StructuredToolInterface } from '@langchain/core/tools';
import { z } from 'zod';
import {
  affordability,
  amortizationSummary,
  compareProperties,
  monthlyHousingCost,
  mortgagePayment,
  propertyTax,
  rentalAnalysis,
} from '../../tools/finance/index.js';
import { agentTool } from './agent-tool.js';

// Ranges are checked by the finance functions themselves (a ToolInputError names the field):
// the schemas only give the model the shape and the units.
const money = (what: string) => z.number().describe(`${what}, in dollars`);
const percent = (what: string) => z.number().describe(`${what}, in percent (6.5 means 6.5 %)`);
const years = z.number().int().describe('Loan term in whole years (default 30)');

const mortgageSchema = z.object({
  principal: money('Amount borrowed'),
  annualRatePercent: percent('Annual interest rate'),
  termYears: years,
  includeSchedule: z
    .boolean()
    .optional()
    .describe('Also return the year-by-year amortization (principal, interest, balance)'),
});

const housingCostSchema = z.object({
  price: money('Purchase price'),
  downPayment: money('Down payment').optional(),
  downPaymentPercent: percent('Down payment as a share of the price').optional(),
  annualRatePercent: percent('Annual interest rate'),
  termYears: years,
  annualPropertyTax: money('Annual property tax').optional(),
  annualInsurance: money('Annual homeowners insurance').optional(),
  monthlyHoa: money('Monthly HOA dues').optional(),
  pmiRatePercent: percent(
    'PMI per year as a share of the loan, while the down payment is under 20 %',
  ).optional(),
});

const affordabilitySchema = z.object({
  annualIncome: money('Gross annual household income'),
  monthlyDebts: money('Other monthly debt payments').optional(),
  downPayment: money('Cash for the down payment').optional(),
  annualRatePercent: percent('Annual interest rate'),
  termYears: years.optional(),
  propertyTaxRatePercent: percent('Property tax per year as a share of the price').optional(),
  state: z.string().optional().describe('US state, for its average property tax rate'),
  annualInsurance: money('Annual homeowners insurance').optional(),
  monthlyHoa: money('Monthly HOA dues').optional(),
  frontEndRatioPercent: percent('Housing costs over gross monthly income (default 28)').optional(),
  backEndRatioPercent: percent('All debts over gross monthly income (default 36)').optional(),
});

const propertyTaxSchema = z.object({
  homeValue: money('Home value'),
  state: z.string().optional().describe('US state (code or name), for its average effective rate'),
  ratePercent: percent('A known local rate, overriding the state average').optional(),
});

const rentalSchema = z.object({
  price: money('Purchase price'),
  monthlyRent: money('Expected monthly rent'),
  vacancyRatePercent: percent('Vacancy and bad debt (default 5)').optional(),
  annualPropertyTax: money('Annual property tax').optional(),
  annualInsurance: money('Annual insurance').optional(),
  monthlyHoa: money('Monthly HOA dues').optional(),
  maintenancePercent: percent('Maintenance, share of rent collected').optional(),
  managementPercent: percent('Property management, share of rent collected').optional(),
  otherAnnualExpenses: money('Other annual operating expenses').optional(),
  downPayment: money('Down payment').optional(),
  downPaymentPercent: percent('Down payment as a share of the price').optional(),
  annualRatePercent: percent('Mortgage rate; omit for an all-cash purchase').optional(),
  termYears: years.optional(),
  closingCosts: money('Closing costs').optional(),
  rehabCosts: money('Repairs before renting').optional(),
});

const compareSchema = z.object({
  properties: z
    .array(
      z.object({
        label: z.string().describe('A name for the property: its address or listing id'),
        price: money('Price'),
        sqft: z.number().optional(),
        beds: z.number().optional(),
        baths: z.number().optional(),
        annualPropertyTax: money('Annual property tax').optional(),
        monthlyHoa: money('Monthly HOA dues').optional(),
        monthlyRent: money('Expected monthly rent, for the gross yield').optional(),
      }),
    )
    .describe('Two or more properties'),
  downPaymentPercent: percent('Down payment (default 20)').optional(),
  annualRatePercent: percent('Mortgage rate; omit to skip monthly costs').optional(),
  termYears: years.optional(),
  state: z.string().optional().describe('US state, to estimate tax where none is given'),
  annualInsurance: money('Annual insurance per property').optional(),
});

/** The financial analysis tools: exact, LLM-free maths (src/tools/finance). */
export function financeTools(): StructuredToolInterface[] {
  return [
    agentTool({
      name: 'mortgage_payment',
      description:
        'Monthly payment, total paid and total interest of a fixed-rate mortgage (exact formula), optionally with the amortization by year.',
      schema: mortgageSchema,
      run: ({ includeSchedule, ...loan }) =>
        includeSchedule ? amortizationSummary(loan) : mortgagePayment(loan),
    }),
    agentTool({
      name: 'monthly_housing_cost',
      description:
        'Full monthly cost of owning a home: principal and interest, property tax, insurance, HOA and PMI.',
      schema: housingCostSchema,
      run: (input) => monthlyHousingCost(input),
    }),
    agentTool({
      name: 'affordability',
      description:
        'The most expensive home a household can afford under the 28/36 debt-to-income rules, with its monthly payment.',
      schema: affordabilitySchema,
      run: (input) => affordability(input),
    }),
    agentTool({
      name: 'property_tax',
      description: "Annual and monthly property tax from a state's average effective rate, or a given rate.",
      schema: propertyTaxSchema,
      run: (input) => propertyTax(input),
    }),
    agentTool({
      name: 'rental_analysis',
      description:
        'Rental property returns: NOI, cap rate (NOI over price), cash flow, cash-on-cash return, DSCR, gross rent multiplier.',
      schema: rentalSchema,
      run: (input) => rentalAnalysis(input),
    }),
    agentTool({
      name: 'compare_properties',
      description:
        'Compare properties side by side: price per sqft, estimated monthly cost, gross yield, and the best of each.',
      schema: compareSchema,
      run: ({ properties, ...options }) => compareProperties(properties, options),
    }),
  ];
}
