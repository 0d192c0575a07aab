import { RetryBudget } from '../../../src/core/policies/retry-budget';

describe('retry budget', () => {
  it('should let a retry given back through again within the window', () => {
    // ratio 0, minPerSecond 0.1: one retry per 10 s.
    const budget = new RetryBudget(0, 0.1);
    expect(budget.tryRetry(0)).toBe(true);
    expect(budget.tryRetry(500)).toBe(false);

    budget.giveBack(0);

    expect(budget.tryRetry(9_000)).toBe(true);
    expect(budget.tryRetry(9_500)).toBe(false);
  });

  it('should take nothing back from newer retries once the second it was taken in has left the window', () => {
    const budget = new RetryBudget(0, 0.1);
    expect(budget.tryRetry(0)).toBe(true);
    // 10.5 s later the first retry has left the window; this one is in the bucket second 0 had.
    expect(budget.tryRetry(10_500)).toBe(true);

    budget.giveBack(0);

    expect(budget.tryRetry(10_600)).toBe(false);
  });

  it('should give back no more than was taken', () => {
    const budget = new RetryBudget(0, 0.1);
    budget.giveBack(0);
    budget.giveBack(0);
    expect(budget.tryRetry(0)).toBe(true);
    expect(budget.tryRetry(0)).toBe(false);
  });
});
