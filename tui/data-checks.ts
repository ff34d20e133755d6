/** The data-checks gate's report as the views show it: each failing expectation, suite by suite. */
import type { RolloutView } from '../shared/protocol.js';
import type { FailedExpectation } from '../shared/reports/data-checks.js';
import { UnreadableReport } from '../shared/reports/unreadable.js';

/** One expectation that failed, or (`expectation` null) a check that could not run at all. */
export interface FailingExpectation {
  suite: string;
  data: string;
  expectation: string | null;
  column: string | null;
  /** `3 of 1,000 unexpected (0.3%)`, `observed 12.5`, or why it could not be evaluated. */
  outcome: string;
  /** A few of the values at fault, as the data has them (strings quoted). */
  sample: string[];
}

const SAMPLE = 5;

/** Every failing expectation of the rollout's data checks, suite by suite, in the order they ran. */
export function dataCheckFailures(r: RolloutView | null | undefined): FailingExpectation[] {
  const report = r?.gates.data_checks?.report;
  if (!report || report instanceof UnreadableReport) return [];
  return report.flatMap(({ suite, data, failed, error }): FailingExpectation[] => {
    if (failed.length === 0 && error !== undefined) {
      return [{ suite, data, expectation: null, column: null, outcome: `could not run: ${error.split('\n')[0]}`, sample: [] }];
    }
    return failed.map((f) => ({
      suite,
      data,
      expectation: f.expectation.type || 'unknown expectation',
      column: typeof f.expectation.kwargs.column === 'string' ? f.expectation.kwargs.column : null,
      outcome: outcomeOf(f),
      sample: f.sample ? [...new Set(f.sample.map(value))].slice(0, SAMPLE) : [],
    }));
  });
}

function outcomeOf(f: FailedExpectation): string {
  if (f.error !== undefined) return `error: ${f.error.split('\n')[0]}`;
  if (f.unexpected_count !== undefined) {
    const of = f.element_count;
    const share = f.unexpected_percent;
    return `${count(f.unexpected_count)}${of !== undefined ? ` of ${count(of)}` : ''} unexpected${share != null ? ` (${+share.toPrecision(2)}%)` : ''}`;
  }
  return 'observed' in f ? `observed ${value(f.observed)}` : 'failed';
}

function value(v: unknown): string {
  const s = typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 24 ? `${s.slice(0, 23)}…` : s;
}

const count = (n: number) => n.toLocaleString('en-US');
