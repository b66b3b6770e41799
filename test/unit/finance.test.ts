import { describe, expect, it } from 'vitest';
import {
  affordability,
  amortizationSummary,
  compareProperties,
  exactMonthlyPayment,
  monthlyHousingCost,
  mortgagePayment,
  normalizeState,
  propertyTax,
  rentalAnalysis,
  roundCents,
  STATE_PROPERTY_TAX_RATES,
  ToolInputError,
} from '../../src/tools/finance/index.js';

/** Every number anywhere in a result is finite: no NaN, no Infinity leaks out. */
function allFinite(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(allFinite);
  if (value !== null && typeof value === 'object') return Object.values(value).every(allFinite);
  return true;
}

describe('roundCents', () => {
  it('rounds half away from zero without binary noise', () => {
    expect(roundCents(1.005)).toBe(1.01);
    expect(roundCents(2528.272093971861)).toBe(2528.27);
    expect(roundCents(-1.005)).toBe(-1.01);
    expect(Object.is(roundCents(-0.001), 0)).toBe(true);
    expect(() => roundCents(Number.NaN)).toThrow(RangeError);
  });
});

describe('mortgage payment', () => {
  it('400,000 at 6.5% over 30 years is 2,528.27 a month and 510,177.95 of interest', () => {
    const r = mortgagePayment({ principal: 400_000, annualRatePercent: 6.5, termYears: 30 });
    expect(r.monthlyPayment).toBe(2528.27);
    expect(r.totalInterest).toBe(510_177.95);
    expect(r.totalPaid).toBe(910_177.95);
    expect(r.numberOfPayments).toBe(360);
  });

  it('matches hand-checked loans', () => {
    // 200,000 at 5% over 15 years: r = 0.05/12, n = 180 -> 1,581.59 (standard amortisation tables).
    expect(mortgagePayment({ principal: 200_000, annualRatePercent: 5, termYears: 15 }).monthlyPayment).toBe(
      1581.59,
    );
    // 100,000 at 12% over 1 year: r = 1% a month, n = 12 -> 8,884.88.
    expect(mortgagePayment({ principal: 100_000, annualRatePercent: 12, termYears: 1 }).monthlyPayment).toBe(
      8884.88,
    );
  });

  it('handles a zero rate as L/n', () => {
    const r = mortgagePayment({ principal: 360_000, annualRatePercent: 0, termYears: 30 });
    expect(r.monthlyPayment).toBe(1000);
    expect(r.totalInterest).toBe(0);
    expect(exactMonthlyPayment(100, 0, 1)).toBeCloseTo(8.3333333, 6);
  });

  it('rejects zero, negative, NaN and Infinity with a clear error', () => {
    const bad = [
      { principal: 0, annualRatePercent: 5, termYears: 30 },
      { principal: -1, annualRatePercent: 5, termYears: 30 },
      { principal: Number.NaN, annualRatePercent: 5, termYears: 30 },
      { principal: Number.POSITIVE_INFINITY, annualRatePercent: 5, termYears: 30 },
      { principal: 1000, annualRatePercent: -1, termYears: 30 },
      { principal: 1000, annualRatePercent: 5, termYears: 0 },
      { principal: 1000, annualRatePercent: 5, termYears: 2.5 },
    ];
    for (const input of bad) expect(() => mortgagePayment(input)).toThrow(ToolInputError);
    const err = (() => {
      try {
        mortgagePayment({ principal: Number.NaN, annualRatePercent: 5, termYears: 30 });
      } catch (e) {
        return e as ToolInputError;
      }
    })();
    expect(err?.code).toBe('validation_failed');
    expect(err?.field).toBe('principal');
    expect(err?.message).toBe('principal: must be a finite number (got NaN)');
  });

  it('amortises to zero, interest summing to the total', () => {
    const s = amortizationSummary({ principal: 400_000, annualRatePercent: 6.5, termYears: 30 });
    expect(s.years).toHaveLength(30);
    expect(s.years.at(-1)?.endingBalance).toBe(0);
    const interest = s.years.reduce((a, y) => a + y.interestPaid, 0);
    expect(Math.abs(interest - 510_177.95)).toBeLessThan(0.2);
    const principal = s.years.reduce((a, y) => a + y.principalPaid, 0);
    expect(Math.abs(principal - 400_000)).toBeLessThan(0.2);
    // Year 1 from the closed form: balance after k payments B_k = L(1+r)^k - M((1+r)^k - 1)/r.
    const r = 0.065 / 12;
    const M = exactMonthlyPayment(400_000, 6.5, 30);
    const b12 = 400_000 * (1 + r) ** 12 - (M * ((1 + r) ** 12 - 1)) / r;
    expect(s.years[0]).toMatchObject({
      principalPaid: roundCents(400_000 - b12),
      interestPaid: roundCents(12 * M - (400_000 - b12)),
      endingBalance: roundCents(b12),
    });
    expect(s.years[0]).toMatchObject({ interestPaid: 25_868.36, principalPaid: 4470.9 });
    expect(s.halfPaidOffYear).toBe(22);
  });

  it('adds tax, insurance, HOA and PMI into the monthly housing cost', () => {
    const c = monthlyHousingCost({
      price: 500_000,
      downPaymentPercent: 10,
      annualRatePercent: 0,
      termYears: 30,
      annualPropertyTax: 6000,
      annualInsurance: 1200,
      monthlyHoa: 50,
      pmiRatePercent: 0.6,
    });
    // loan 450,000 / 360 = 1,250; tax 500; insurance 100; HOA 50; PMI 450,000 * 0.6% / 12 = 225.
    expect(c).toMatchObject({
      loanAmount: 450_000,
      principalAndInterest: 1250,
      propertyTax: 500,
      insurance: 100,
      hoa: 50,
      pmi: 225,
      totalMonthly: 2125,
    });
    expect(() =>
      monthlyHousingCost({ price: 1, downPayment: 2, annualRatePercent: 5, termYears: 30 }),
    ).toThrow(/must not exceed the price/);
    expect(() =>
      monthlyHousingCost({
        price: 10,
        downPayment: 2,
        downPaymentPercent: 5,
        annualRatePercent: 5,
        termYears: 30,
      }),
    ).toThrow(/not both/);
  });
});

describe('property tax by state', () => {
  it('covers the 50 states and DC', () => {
    expect(Object.keys(STATE_PROPERTY_TAX_RATES)).toHaveLength(51);
    for (const s of Object.values(STATE_PROPERTY_TAX_RATES)) {
      expect(s.ratePercent).toBeGreaterThan(0);
      expect(s.ratePercent).toBeLessThan(3);
    }
  });

  it('estimates annual and monthly tax', () => {
    const t = propertyTax({ homeValue: 400_000, state: 'Texas' });
    expect(t).toMatchObject({ state: 'TX', effectiveRatePercent: 1.66, annualTax: 6640, monthlyTax: 553.33 });
    expect(propertyTax({ homeValue: 300_000, ratePercent: 1.25 })).toMatchObject({
      annualTax: 3750,
      monthlyTax: 312.5,
    });
    expect(normalizeState(' new   jersey ')).toBe('NJ');
    expect(normalizeState('dc')).toBe('DC');
    expect(() => propertyTax({ homeValue: 1, state: 'Atlantis' })).toThrow(ToolInputError);
    expect(() => propertyTax({ homeValue: 0, state: 'TX' })).toThrow(/homeValue/);
    expect(() => propertyTax({ homeValue: 10 })).toThrow(/give a state/);
  });
});

describe('affordability', () => {
  it('solves the price from the 28/36 rules (hand-checked, zero rate)', () => {
    // Income 120,000 -> 10,000/month; front 28% = 2,800; back 36% = 3,600 - 500 debts = 3,100.
    // Budget 2,800 - insurance 100 = 2,700 for P&I + tax: P = (2,700 + 60,000/360) / (1/360 + 0.012/12).
    const a = affordability({
      annualIncome: 120_000,
      monthlyDebts: 500,
      downPayment: 60_000,
      annualRatePercent: 0,
      termYears: 30,
      propertyTaxRatePercent: 1.2,
      annualInsurance: 1200,
    });
    expect(a.limitedBy).toBe('front_end');
    expect(a.maxMonthlyHousingPayment).toBe(2800);
    expect(a.maxHomePrice).toBe(758_823.53);
    expect(a.loanAmount).toBe(698_823.53);
    expect(a.monthly).toEqual({
      principalAndInterest: 1941.18,
      propertyTax: 758.82,
      insurance: 100,
      hoa: 0,
      total: 2800,
    });
  });

  it('lets the back-end ratio bind when debts are high', () => {
    const a = affordability({
      annualIncome: 60_000,
      monthlyDebts: 1200,
      annualRatePercent: 6.5,
      state: 'TX',
    });
    // back 1,800 - 1,200 = 600 < front 1,400.
    expect(a.limitedBy).toBe('back_end');
    expect(a.maxMonthlyHousingPayment).toBe(600);
    expect(a.monthly.total).toBe(600);
    expect(a.propertyTaxRatePercent).toBe(1.66);
  });

  it('answers zero when debts leave no room, and rejects bad input', () => {
    const a = affordability({ annualIncome: 50_000, monthlyDebts: 5000, annualRatePercent: 6 });
    expect(a.maxHomePrice).toBe(0);
    expect(a.notes.join(' ')).toMatch(/no room|whole allowed payment/);
    expect(allFinite(a)).toBe(true);
    expect(() => affordability({ annualIncome: 0, annualRatePercent: 6 })).toThrow(/annualIncome/);
    expect(() => affordability({ annualIncome: 1e5, annualRatePercent: Number.NaN })).toThrow(
      /annualRatePercent/,
    );
    expect(() => affordability({ annualIncome: 1e5, annualRatePercent: 6, monthlyDebts: -1 })).toThrow(
      /monthlyDebts/,
    );
  });
});

describe('rental ROI', () => {
  const deal = {
    price: 300_000,
    monthlyRent: 2500,
    vacancyRatePercent: 5,
    annualPropertyTax: 3600,
    annualInsurance: 1200,
    maintenancePercent: 5,
    managementPercent: 8,
    downPaymentPercent: 25,
    annualRatePercent: 7,
    termYears: 30,
    closingCosts: 6000,
    rehabCosts: 4000,
  };

  it('uses the standard definitions (hand-checked)', () => {
    const r = rentalAnalysis(deal);
    // GSR 30,000; vacancy 1,500; EGI 28,500; expenses 3,600 + 1,200 + 1,425 + 2,280 = 8,505.
    expect(r.grossScheduledRent).toBe(30_000);
    expect(r.vacancyLoss).toBe(1500);
    expect(r.effectiveGrossIncome).toBe(28_500);
    expect(r.operatingExpenses.total).toBe(8505);
    // NOI = 28,500 - 8,505 = 19,995 (no debt service in NOI); cap rate 19,995 / 300,000 = 6.665%.
    expect(r.netOperatingIncome).toBe(19_995);
    expect(r.capRatePercent).toBe(6.67);
    // Loan 225,000 at 7% over 30 years: 1,496.93 a month.
    expect(r.loanAmount).toBe(225_000);
    const debt = exactMonthlyPayment(225_000, 7, 30) * 12;
    expect(roundCents(debt / 12)).toBe(1496.93);
    expect(r.annualDebtService).toBe(roundCents(debt));
    expect(r.annualCashFlow).toBe(roundCents(19_995 - debt));
    // Cash invested 75,000 + 6,000 + 4,000 = 85,000.
    expect(r.totalCashInvested).toBe(85_000);
    expect(r.cashOnCashPercent).toBe(Number((((19_995 - debt) / 85_000) * 100).toFixed(2)));
    expect(r.debtServiceCoverageRatio).toBe(Number((19_995 / debt).toFixed(2)));
    expect(r.grossRentMultiplier).toBe(10);
  });

  it('all cash: cash flow equals NOI, cash-on-cash equals NOI over price', () => {
    const r = rentalAnalysis({ price: 200_000, monthlyRent: 1500, vacancyRatePercent: 0 });
    expect(r.netOperatingIncome).toBe(18_000);
    expect(r.annualDebtService).toBe(0);
    expect(r.annualCashFlow).toBe(18_000);
    expect(r.cashOnCashPercent).toBe(9);
    expect(r.capRatePercent).toBe(9);
    expect(r.debtServiceCoverageRatio).toBeNull();
  });

  it('is undefined, not Infinity, with no cash invested; rejects bad input', () => {
    const r = rentalAnalysis({ price: 200_000, monthlyRent: 1500, downPayment: 0, annualRatePercent: 6 });
    expect(r.cashOnCashPercent).toBeNull();
    expect(allFinite(r)).toBe(true);
    expect(() => rentalAnalysis({ price: 200_000, monthlyRent: 0 })).toThrow(/monthlyRent/);
    expect(() => rentalAnalysis({ price: -5, monthlyRent: 100 })).toThrow(/price/);
    expect(() => rentalAnalysis({ price: 5, monthlyRent: 100, vacancyRatePercent: 120 })).toThrow(/vacancy/);
    expect(() => rentalAnalysis({ price: 5, monthlyRent: 100, downPayment: 1 })).toThrow(/annualRatePercent/);
  });
});

describe('compare properties', () => {
  it('ranks by price per square foot, monthly cost and yield', () => {
    const c = compareProperties(
      [
        { label: 'A', price: 449_000, sqft: 1620, beds: 3, monthlyRent: 2800 },
        { label: 'B', price: 389_000, sqft: 1450, beds: 3, monthlyRent: 2300 },
        { label: 'C', price: 615_000, sqft: 2410, beds: 4 },
      ],
      { annualRatePercent: 0, termYears: 30, downPaymentPercent: 20 },
    );
    expect(c.properties.map((p) => p.pricePerSqft)).toEqual([277.16, 268.28, 255.19]);
    // B: 389,000 * 0.8 / 360 = 864.44 a month.
    expect(c.properties[1]?.estimatedMonthlyCost).toBe(864.44);
    expect(c.best).toEqual({
      lowestPrice: 'B',
      lowestPricePerSqft: 'C',
      lowestMonthlyCost: 'B',
      highestGrossYield: 'A',
      mostBedrooms: 'C',
    });
    expect(() => compareProperties([{ label: 'A', price: 1 }])).toThrow(/between 2 and 10/);
    expect(() =>
      compareProperties([
        { label: 'A', price: 1 },
        { label: 'B', price: Number.NaN },
      ]),
    ).toThrow(/properties\[1\]\.price/);
  });
});
