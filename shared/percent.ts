/**
 * Traffic percentages (weights, `initial_traffic`, `step_percent`) have a resolution of 0.01: the
 * config accepts at most two decimals, and every sum or difference the daemon computes is rounded
 * back to it, so 0.1 + 0.2 is stored and shown as 0.3, never 0.30000000000000004.
 */
export const PERCENT_RESOLUTION = 0.01;

/** `x` rounded to the resolution. */
export const roundPercent = (x: number): number => Math.round(x * 100) / 100;

/** `12.5%`, `10%`, `33.33%`. */
export const formatPercent = (x: number): string => `${roundPercent(x)}%`;
