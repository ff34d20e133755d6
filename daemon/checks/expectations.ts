/**
 * The expectations the native engine evaluates, with Great Expectations' semantics on pandas:
 * column map expectations ignore missing values (except not_be_null), `mostly` is the share of
 * non-missing values that must pass, unexpected_percent is relative to the non-missing count, and the
 * result has GX's fields. Where GX would raise (a missing column, text compared with numbers), the
 * expectation fails with the reason.
 */
import { findColumn, pyKind, type Cell, type Column, type Dataset } from './dataset.js';
import { dtypeMatches, knownType, observedTypeName, pyCompare, pyKey, pyStr, valueMatches } from './python.js';
import { pythonRegex } from './pyregex.js';

export const PARTIAL_UNEXPECTED_COUNT = 20;

/** Raised while evaluating one expectation: it fails with this message, the others still run. */
export class ExpectationError extends Error {}

type Kwargs = Record<string, unknown>;

export interface Outcome {
  success: boolean;
  result: Record<string, unknown>;
}

export interface NativeExpectation {
  /** The kwargs it reads; any other (besides batch_id, row_condition, condition_parser) is a mistake. */
  kwargs: readonly string[];
  evaluate(k: Kwargs, data: Dataset): Outcome;
}

// ---- kwargs ------------------------------------------------------------------------------------

function column(k: Kwargs, data: Dataset): Column {
  const name = k.column;
  if (typeof name !== 'string' || name === '') throw new ExpectationError('kwarg column is required: the name of a column');
  const found = findColumn(data, name);
  if (typeof found === 'string') throw new ExpectationError(found);
  return found;
}

function mostly(k: Kwargs): number {
  const m = k.mostly;
  if (m === undefined || m === null) return 1;
  if (typeof m !== 'number' || !(m >= 0 && m <= 1))
    throw new ExpectationError(`mostly must be a number from 0 to 1, found ${JSON.stringify(m)}`);
  return m;
}

/** min_value / max_value: a number, or null for no bound (GX 1.x reads a string bound as a date). */
function bound(k: Kwargs, name: string): number | null {
  const v = k[name];
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && '$PARAMETER' in v)
    throw new ExpectationError(`${name}: suite parameters ($PARAMETER) are not supported by the native engine`);
  if (typeof v === 'string')
    throw new ExpectationError(
      `${name} ${JSON.stringify(v)}: the native engine compares numbers only; dates need engine: great_expectations`,
    );
  throw new ExpectationError(`${name} must be a number or null, found ${JSON.stringify(v)}`);
}

function flag(k: Kwargs, name: string, fallback = false): boolean {
  const v = k[name];
  if (v === undefined) return fallback;
  if (v === null) return false;
  if (typeof v !== 'boolean') throw new ExpectationError(`${name} must be true or false, found ${JSON.stringify(v)}`);
  return v;
}

function list(k: Kwargs, name: string): unknown[] | null {
  const v = k[name];
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new ExpectationError(`${name} must be a list, found ${JSON.stringify(v)}`);
  return v;
}

function text(k: Kwargs, name: string, fallback?: string): string {
  const v = k[name] ?? fallback;
  if (typeof v !== 'string') throw new ExpectationError(`kwarg ${name} is required: a string`);
  return v;
}

// ---- column map expectations ---------------------------------------------------------------------

/** GX's column map result over the non-missing values of `col`; `unexpected(v, i)` marks a failing value. */
function columnMap(col: Column, m: number, unexpected: (v: Cell, i: number) => boolean): Outcome {
  const rows = col.values.length;
  let present = 0;
  const values: Cell[] = [];
  const indexes: number[] = [];
  col.values.forEach((v, i) => {
    if (v === null) return;
    present++;
    if (unexpected(v, i)) {
      values.push(v);
      indexes.push(i);
    }
  });
  const u = values.length;
  const partial = values.slice(0, PARTIAL_UNEXPECTED_COUNT);
  const missing = rows - present;
  const percent = present > 0 ? (u / present) * 100 : null;
  return {
    success: rows === 0 || present === 0 || (present - u) / present >= m,
    result: {
      element_count: rows,
      unexpected_count: u,
      unexpected_percent: percent,
      partial_unexpected_list: partial,
      missing_count: missing,
      missing_percent: rows > 0 ? (missing / rows) * 100 : null,
      unexpected_percent_total: rows > 0 ? (u / rows) * 100 : null,
      unexpected_percent_nonmissing: percent,
      ...optional('partial_unexpected_counts', partialCounts(partial)),
      partial_unexpected_index_list: indexes.slice(0, PARTIAL_UNEXPECTED_COUNT),
    },
  };
}

const pyTypeName = (v: Cell) =>
  Array.isArray(v)
    ? 'list'
    : typeof v === 'string'
      ? 'str'
      : typeof v === 'boolean'
        ? 'bool'
        : typeof v === 'number'
          ? Number.isInteger(v)
            ? 'int'
            : 'float'
          : 'NoneType';
const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The most common of the first 20 unexpected values, as GX lists them: Counter(partial).most_common(20) sorted by
 * (-count, value). Where Python would raise TypeError (unhashable lists, text against numbers on a
 * tie) GX leaves the field out, and so does this. Dicts are counted as the tuples of their values.
 */
function partialCounts(values: readonly Cell[]): { value: unknown; count: number }[] | undefined {
  const dictMode = isDict(values[0]);
  const counts = new Map<string, { value: unknown; count: number }>();
  for (const v of values) {
    if (dictMode && !isDict(v)) throw new ExpectationError(`'${pyTypeName(v)}' object has no attribute 'values'`);
    const value = dictMode ? Object.values(v as Record<string, unknown>) : v;
    const unhashable = dictMode
      ? (value as unknown[]).some((x) => typeof x === 'object' && x !== null)
      : typeof v === 'object' && v !== null;
    if (unhashable) return undefined;
    const key = pyKey(value as Cell);
    const entry = counts.get(key);
    if (entry) entry.count++;
    else counts.set(key, { value, count: 1 });
  }
  const top = [...counts.values()].sort((a, b) => b.count - a.count).slice(0, PARTIAL_UNEXPECTED_COUNT);
  let comparable = true;
  top.sort((a, b) => {
    if (a.count !== b.count) return b.count - a.count;
    const order = pyCompare(a.value as Cell, b.value as Cell);
    if (order === undefined) comparable = false;
    return order ?? 0;
  });
  return comparable ? top : undefined;
}

/**
 * partial_unexpected_counts of missing values. pandas' missing values are NaN and no NaN equals
 * another, but in a text or object column they are one shared NaN object (and, in an object column,
 * None for a written null), which Counter groups. None and NaN cannot be ordered: on a tie GX leaves
 * the field out.
 */
function nullCounts(col: Column, indexes: readonly number[]): { value: null; count: number }[] | undefined {
  const groups = new Map<string, number>();
  for (const i of indexes) {
    const key = col.dtype === 'float64' ? `nan${i}` : col.nones?.[i] ? 'none' : 'nan';
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const counts = [...groups].sort((a, b) => b[1] - a[1]);
  const none = groups.get('none');
  if (none !== undefined && groups.get('nan') === none) return undefined;
  return counts.map(([, count]) => ({ value: null, count }));
}

const optional = (key: string, value: unknown) => (value === undefined ? {} : { [key]: value });

const SAME_TYPE = 'Column values, min_value, and max_value must either be None or of the same type.';

/** Whether `v` lies within the bounds, with Python's comparisons (text against numbers raises). */
function within(v: Cell, min: number | null, max: number | null, strictMin: boolean, strictMax: boolean): boolean {
  if (typeof v === 'number') {
    return (min === null || (strictMin ? v > min : v >= min)) && (max === null || (strictMax ? v < max : v <= max));
  }
  const lo = min === null ? 1 : pyCompare(v, min);
  const hi = max === null ? -1 : pyCompare(v, max);
  if (lo === undefined || hi === undefined) throw new ExpectationError(SAME_TYPE);
  return (strictMin ? lo > 0 : lo >= 0) && (strictMax ? hi < 0 : hi <= 0);
}

function betweenBounds(k: Kwargs): { min: number | null; max: number | null; strictMin: boolean; strictMax: boolean } {
  const min = bound(k, 'min_value');
  const max = bound(k, 'max_value');
  return { min, max, strictMin: flag(k, 'strict_min'), strictMax: flag(k, 'strict_max') };
}

// ---- aggregates ----------------------------------------------------------------------------------

/** numpy's pairwise summation (what pandas' mean uses), so means agree to the last bit. */
function pairwiseSum(a: readonly number[], start: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = start; i < start + n; i++) s += a[i]!;
    return s;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => a[start + j]!);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += a[start + i + j]!;
    let s = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) s += a[start + i]!;
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(a, start, half) + pairwiseSum(a, start + half, n - half);
}

function mean(col: Column): number | null {
  const numbers: number[] = [];
  let present = 0;
  col.values.forEach((v, i) => {
    if (v === null) {
      numbers.push(0); // pandas fills missing values with 0 before summing, then divides by the count
      return;
    }
    const kind = pyKind(col, i);
    if (kind !== 'int' && kind !== 'float' && kind !== 'bool') {
      throw new ExpectationError(`column '${col.name}' is not numeric (dtype ${col.dtype}): its mean is not defined`);
    }
    numbers.push(Number(v));
    present++;
  });
  if (present === 0) return null;
  const sum = col.dtype === 'float64' ? pairwiseSum(numbers, 0, numbers.length) : numbers.reduce((a, b) => a + b, 0);
  return sum / present;
}

/** GX's check of an aggregate (mean, row count) against min_value / max_value. */
function metricBetween(observed: number | null, k: Kwargs): Outcome {
  if (observed === null) return { success: false, result: { observed_value: null } };
  const { min, max, strictMin, strictMax } = betweenBounds(k);
  return { success: within(observed, min, max, strictMin, strictMax), result: { observed_value: observed } };
}

const COLUMN_MAP = ['column', 'mostly'] as const;
const BETWEEN = ['min_value', 'max_value', 'strict_min', 'strict_max'] as const;

export const NATIVE_EXPECTATIONS: Record<string, NativeExpectation> = {
  expect_column_to_exist: {
    kwargs: ['column', 'column_index'],
    evaluate(k, data) {
      const name = text(k, 'column');
      const names = data.columns.map((c) => c.name);
      const index = k.column_index;
      if (index !== undefined && index !== null && typeof index !== 'number') throw new ExpectationError('column_index must be a number');
      // Python: a column_index of 0 is falsy (only existence is checked); negative counts from the end.
      return { success: index ? names.at(index) === name : names.includes(name), result: {} };
    },
  },

  expect_column_values_to_not_be_null: {
    kwargs: COLUMN_MAP,
    evaluate(k, data) {
      const col = column(k, data);
      const m = mostly(k);
      const rows = col.values.length;
      const indexes = col.values.flatMap((v, i) => (v === null ? [i] : []));
      const u = indexes.length;
      const partial = indexes.slice(0, PARTIAL_UNEXPECTED_COUNT);
      return {
        success: rows === 0 || (rows - u) / rows >= m,
        result: {
          element_count: rows,
          unexpected_count: u,
          unexpected_percent: rows > 0 ? (u / rows) * 100 : null,
          partial_unexpected_list: partial.map(() => null),
          ...optional('partial_unexpected_counts', nullCounts(col, partial)),
          partial_unexpected_index_list: indexes.slice(0, PARTIAL_UNEXPECTED_COUNT),
        },
      };
    },
  },

  expect_column_values_to_be_between: {
    kwargs: [...COLUMN_MAP, ...BETWEEN],
    evaluate(k, data) {
      const col = column(k, data);
      const m = mostly(k);
      const { min, max, strictMin, strictMax } = betweenBounds(k);
      if (min === null && max === null) throw new ExpectationError('min_value and max_value cannot both be None');
      if (min !== null && max !== null && min > max) throw new ExpectationError('min_value cannot be greater than max_value');
      return columnMap(col, m, (v) => !within(v, min, max, strictMin, strictMax));
    },
  },

  expect_column_values_to_be_in_set: {
    kwargs: [...COLUMN_MAP, 'value_set'],
    evaluate(k, data) {
      const col = column(k, data);
      const m = mostly(k);
      if (k.value_set === undefined) throw new ExpectationError('kwarg value_set is required: a list of the allowed values');
      const set = list(k, 'value_set');
      const allowed = set && new Set(set.map((v) => pyKey(v as Cell)));
      return columnMap(col, m, (v) => allowed !== null && !allowed.has(pyKey(v)));
    },
  },

  expect_column_values_to_be_unique: {
    kwargs: COLUMN_MAP,
    evaluate(k, data) {
      const col = column(k, data);
      const m = mostly(k);
      const counts = new Map<string, number>();
      for (const v of col.values) if (v !== null) counts.set(pyKey(v), (counts.get(pyKey(v)) ?? 0) + 1);
      // Like pandas' duplicated(keep=False): every occurrence of a repeated value is unexpected.
      return columnMap(col, m, (v) => counts.get(pyKey(v))! > 1);
    },
  },

  expect_column_values_to_match_regex: {
    kwargs: [...COLUMN_MAP, 'regex'],
    evaluate(k, data) {
      const col = column(k, data);
      const m = mostly(k);
      const pattern = text(k, 'regex', '(?s).*');
      let regex: RegExp;
      try {
        regex = pythonRegex(pattern);
      } catch (err) {
        throw new ExpectationError(`regex ${JSON.stringify(pattern)}: ${(err as Error).message}; run it with engine: great_expectations`);
      }
      // pandas: column.astype(str).str.contains(regex), a search anywhere in the value's text.
      return columnMap(col, m, (v, i) => !regex.test(pyStr(v, pyKind(col, i)!)));
    },
  },

  expect_column_values_to_be_of_type: {
    kwargs: [...COLUMN_MAP, 'type_'],
    evaluate(k, data) {
      const col = column(k, data);
      const m = mostly(k);
      const type = text(k, 'type_');
      // GX checks the dtype, except for an object column, whose values it checks one by one.
      if (col.dtype === 'object' && !dtypeMatches('object', type)) {
        if (!knownType(type)) throw new ExpectationError(`Unrecognized numpy/python type: ${type}`);
        return columnMap(col, m, (_v, i) => !valueMatches(pyKind(col, i)!, type));
      }
      return { success: dtypeMatches(col.dtype, type), result: { observed_value: observedTypeName(col) } };
    },
  },

  expect_column_mean_to_be_between: {
    kwargs: ['column', ...BETWEEN],
    evaluate: (k, data) => metricBetween(mean(column(k, data)), k),
  },

  expect_table_row_count_to_be_between: {
    kwargs: BETWEEN,
    evaluate: (k, data) => metricBetween(data.rowCount, k),
  },

  expect_table_columns_to_match_ordered_list: {
    kwargs: ['column_list'],
    evaluate(k, data) {
      const expected = list(k, 'column_list');
      const actual = data.columns.map((c) => c.name);
      if (expected === null || (expected.length === actual.length && expected.every((c, i) => c === actual[i]))) {
        return { success: true, result: { observed_value: actual } };
      }
      const mismatched = [];
      for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
        if (expected[i] !== actual[i])
          mismatched.push({ 'Expected Column Position': i, Expected: expected[i] ?? null, Found: actual[i] ?? null });
      }
      return { success: false, result: { observed_value: actual, details: { mismatched } } };
    },
  },

  expect_table_columns_to_match_set: {
    kwargs: ['column_set', 'exact_match'],
    evaluate(k, data) {
      const expected = new Set((list(k, 'column_set') ?? []).map(String));
      const exact = flag(k, 'exact_match', true);
      const actual = new Set(data.columns.map((c) => c.name));
      const observed = [...actual].sort();
      const unexpected = [...actual].filter((c) => !expected.has(c)).sort();
      const missing = [...expected].filter((c) => !actual.has(c)).sort();
      if (unexpected.length === 0 && missing.length === 0) return { success: true, result: { observed_value: observed } };
      const mismatched: Record<string, string[]> = {};
      if (unexpected.length) mismatched.unexpected = unexpected;
      if (missing.length) mismatched.missing = missing;
      return { success: !exact && missing.length === 0, result: { observed_value: observed, details: { mismatched } } };
    },
  },
};
