/**
 * The data-checks gate's report, read defensively: it is `unknown` in the protocol (one report per
 * suite and group, in Great Expectations' terms; docs/rollouts.md "Data checks"), so every field is
 * checked before use.
 */
import type { PipelineView } from '../shared/protocol.js';

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

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** Every failing expectation of the pipeline's data checks, suite by suite, in the order they ran. */
export function dataCheckFailures(p: PipelineView): FailingExpectation[] {
  const report = p.rollout?.gates.data_checks?.report;
  if (!Array.isArray(report)) return [];
  return report.filter(isRecord).flatMap((check): FailingExpectation[] => {
    const suite = str(check.suite);
    const data = str(check.data);
    const failed = Array.isArray(check.failed) ? check.failed.filter(isRecord) : [];
    if (failed.length === 0 && typeof check.error === 'string') {
      return [{ suite, data, expectation: null, column: null, outcome: `could not run: ${check.error.split('\n')[0]}`, sample: [] }];
    }
    return failed.map((f) => {
      const expectation = isRecord(f.expectation) ? f.expectation : {};
      const kwargs = isRecord(expectation.kwargs) ? expectation.kwargs : {};
      return {
        suite,
        data,
        expectation: str(expectation.type) || 'unknown expectation',
        column: typeof kwargs.column === 'string' ? kwargs.column : null,
        outcome: outcomeOf(f),
        sample: Array.isArray(f.sample) ? [...new Set(f.sample.map(value))].slice(0, SAMPLE) : [],
      };
    });
  });
}

function outcomeOf(f: Record<string, unknown>): string {
  if (typeof f.error === 'string') return `error: ${f.error.split('\n')[0]}`;
  const unexpected = num(f.unexpected_count);
  if (unexpected !== null) {
    const of = num(f.element_count);
    const share = num(f.unexpected_percent);
    return `${count(unexpected)}${of !== null ? ` of ${count(of)}` : ''} unexpected${share !== null ? ` (${+share.toPrecision(2)}%)` : ''}`;
  }
  return 'observed' in f ? `observed ${value(f.observed)}` : 'failed';
}

function value(v: unknown): string {
  const s = typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v);
  return s.length > 24 ? `${s.slice(0, 23)}…` : s;
}

const count = (n: number) => n.toLocaleString('en-US');
