/**
 * What a data check reports: GX's results, the failed expectations with what was observed and a sample
 * of the values at fault, and one line a person understands, e.g.
 *   2 of 7 expectations failed: expect_column_values_to_be_between(age, 0..120): 3 of 1,000 values (0.3%) outside, e.g. -4, 150, 999; ...
 */
import type { DataCheckReport, Engine, FailedExpectation } from '../../shared/reports/data-checks.js';
import type { ExpectationResult } from './results.js';
import { statisticsOf } from './results.js';

// The report's types are its wire schema's (shared/reports/data-checks.ts): what this module builds is what clients parse.
export type { DataCheckReport, Engine, FailedExpectation } from '../../shared/reports/data-checks.js';

const SHOWN_FAILURES = 3;
const SHOWN_SAMPLE = 3;

export function buildReport(
  base: {
    suite: string;
    data: string;
    engine: Engine;
    durationMs: number;
    rowCount?: number;
    dtypes?: Record<string, string>;
    engineVersion?: string;
  },
  results: ExpectationResult[],
): DataCheckReport {
  const statistics = statisticsOf(results);
  const failedResults = results.filter((r) => !r.success);
  const failed = failedResults.map(failure);
  const success = failed.length === 0;
  const n = results.length;
  let summary: string;
  if (success) {
    summary = `all ${plural(n, 'expectation')} passed` + (base.rowCount === undefined ? '' : ` on ${plural(base.rowCount, 'row')}`);
  } else {
    const shown = failedResults.slice(0, SHOWN_FAILURES).map(describeFailure);
    const more = failed.length > SHOWN_FAILURES ? `; and ${failed.length - SHOWN_FAILURES} more` : '';
    summary = `${count(failed.length)} of ${plural(n, 'expectation')} failed: ${shown.join('; ')}${more}`;
  }
  return { ...base, success, statistics, results, failed, summary };
}

/** A check that could not run: it fails, and says why. */
export function errorReport(base: { suite: string; data: string; engine: Engine; durationMs: number }, error: string): DataCheckReport {
  return {
    ...base,
    success: false,
    statistics: statisticsOf([]),
    results: [],
    failed: [],
    error,
    summary: `could not check ${base.data} against ${base.suite}: ${error.split('\n')[0]}`,
  };
}

function failure(r: ExpectationResult): FailedExpectation {
  const { type, kwargs } = r.expectation_config;
  const f: FailedExpectation = { expectation: { type, kwargs } };
  const res = r.result;
  if (r.exception_info.raised_exception) f.error = r.exception_info.exception_message ?? 'the expectation raised an error';
  if ('observed_value' in res) f.observed = res.observed_value;
  if (typeof res.unexpected_count === 'number') {
    f.unexpected_count = res.unexpected_count;
    f.unexpected_percent = (res.unexpected_percent as number | null | undefined) ?? null;
    if (typeof res.element_count === 'number') f.element_count = res.element_count;
    if (Array.isArray(res.partial_unexpected_list)) f.sample = res.partial_unexpected_list;
  }
  return f;
}

/** `expect_column_values_to_be_between(age, 0..120): 3 of 1,000 values (0.3%) outside, e.g. -4, 150, 999` */
export function describeFailure(r: ExpectationResult): string {
  const { type, kwargs } = r.expectation_config;
  return `${type}(${describeArgs(type, kwargs)}): ${describeOutcome(r)}`;
}

function describeArgs(type: string, k: Record<string, unknown>): string {
  const args: string[] = [];
  if (typeof k.column === 'string') args.push(k.column);
  if (type.endsWith('_to_be_between')) args.push(range(k));
  if (Array.isArray(k.value_set)) args.push(`{${listed(k.value_set, 5)}}`);
  if (typeof k.regex === 'string') args.push(`/${k.regex}/`);
  if (typeof k.type_ === 'string') args.push(k.type_);
  if (Array.isArray(k.column_list)) args.push(`[${listed(k.column_list, 8)}]`);
  if (Array.isArray(k.column_set)) args.push(`{${listed(k.column_set, 8)}}`);
  return args.join(', ');
}

function range(k: Record<string, unknown>): string {
  const lo = k.min_value ?? null;
  const hi = k.max_value ?? null;
  const sMin = k.strict_min === true;
  const sMax = k.strict_max === true;
  if (lo !== null && hi !== null) return `${sMin ? '>' : ''}${value(lo)}..${sMax ? '<' : ''}${value(hi)}`;
  if (lo !== null) return `${sMin ? '>' : '>='} ${value(lo)}`;
  if (hi !== null) return `${sMax ? '<' : '<='} ${value(hi)}`;
  return 'no bounds';
}

const VERBS: Record<string, string> = {
  expect_column_values_to_be_between: 'outside',
  expect_column_values_to_be_in_set: 'not in the set',
  expect_column_values_to_be_unique: 'repeated',
  expect_column_values_to_match_regex: 'not matching',
};

function describeOutcome(r: ExpectationResult): string {
  const { type, kwargs } = r.expectation_config;
  const res = r.result;
  if (r.exception_info.raised_exception) return `error: ${(r.exception_info.exception_message ?? '').split('\n')[0]}`;
  if (typeof res.unexpected_count === 'number') {
    const u = res.unexpected_count;
    const rows = typeof res.element_count === 'number' ? res.element_count : 0;
    const considered = type === 'expect_column_values_to_not_be_null' ? rows : rows - ((res.missing_count as number | undefined) ?? 0);
    const verb =
      type === 'expect_column_values_to_not_be_null'
        ? 'null'
        : type === 'expect_column_values_to_be_of_type'
          ? `not ${String(kwargs.type_)}`
          : (VERBS[type] ?? 'unexpected');
    const pct = typeof res.unexpected_percent === 'number' ? ` (${percent(res.unexpected_percent)})` : '';
    const sample =
      Array.isArray(res.partial_unexpected_list) && type !== 'expect_column_values_to_not_be_null' ? res.partial_unexpected_list : [];
    const shown = [...new Set(sample.map(value))].slice(0, SHOWN_SAMPLE);
    const eg = shown.length ? `, e.g. ${shown.join(', ')}` : '';
    const m =
      typeof kwargs.mostly === 'number' && kwargs.mostly < 1
        ? ` (mostly ${kwargs.mostly} allows ${percent((1 - kwargs.mostly) * 100)})`
        : '';
    return `${count(u)} of ${plural(considered, 'value')}${pct} ${verb}${eg}${m}`;
  }
  const observed = res.observed_value;
  switch (type) {
    case 'expect_column_to_exist':
      return 'no such column';
    case 'expect_column_values_to_be_of_type':
      return `column is ${String(observed)}`;
    case 'expect_column_mean_to_be_between':
      return observed === null ? 'no values to average' : `mean is ${value(observed)}`;
    case 'expect_table_row_count_to_be_between':
      return `${plural(observed as number, 'row')}`;
    case 'expect_table_columns_to_match_ordered_list':
      return `columns are [${listed(observed as unknown[], 8)}]`;
    case 'expect_table_columns_to_match_set': {
      const mismatched = (res.details as { mismatched?: { unexpected?: string[]; missing?: string[] } } | undefined)?.mismatched ?? {};
      const parts = [];
      if (mismatched.missing?.length) parts.push(`missing ${listed(mismatched.missing, 8)}`);
      if (mismatched.unexpected?.length) parts.push(`unexpected ${listed(mismatched.unexpected, 8)}`);
      return parts.join('; ') || `columns are {${listed(observed as unknown[], 8)}}`;
    }
    default:
      return observed === undefined ? 'failed' : `observed ${value(observed)}`;
  }
}

function value(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  const s = typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

function listed(items: readonly unknown[], max: number): string {
  const shown = items.slice(0, max).map((v) => (typeof v === 'string' ? v : value(v)));
  return shown.join(', ') + (items.length > max ? `, … (${items.length})` : '');
}

const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, noun: string) => `${count(n)} ${noun}${n === 1 ? '' : 's'}`;

function percent(p: number): string {
  if (p === 0) return '0%';
  if (p < 0.01) return '<0.01%';
  return `${Number(p.toFixed(p < 1 ? 2 : 1))}%`;
}
