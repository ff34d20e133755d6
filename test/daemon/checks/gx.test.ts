/**
 * engine: great_expectations runs the real package (pinned in test/setup/requirements.txt, installed by
 * ensure.sh into the test venv), and the native engine agrees with it: same verdicts, unexpected counts,
 * samples, observed values and column dtypes on the same data and suites.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { runDataCheck, type DataCheckReport, type DataChecksOptions } from '../../../daemon/checks/index.js';
import type { DataCheck } from '../../../shared/config/schema.js';
import { POSTGRES_URL, PYTHON_VENV } from '../../helpers/services.js';

const fixtures = join(import.meta.dirname, '../../fixtures/gx');
const dir = mkdtempSync(join(tmpdir(), 'mlp-gx-test-'));
for (const f of ['people.csv', 'people.jsonl', 'people.suite.json', 'people.suite-0.18.json'])
  copyFileSync(join(fixtures, f), join(dir, f));

const options = (extra: Partial<DataChecksOptions> = {}): DataChecksOptions => ({
  checks: [],
  pipelineDir: dir,
  repoRoot: dir,
  warehouses: { wh: 'sqlite:warehouse.db' },
  defaultConnection: 'wh',
  python: PYTHON_VENV,
  timeoutMs: 120_000,
  ...extra,
});

function writeSuite(name: string, expectations: [string, Record<string, unknown>][]): string {
  writeFileSync(
    join(dir, name),
    JSON.stringify({ name, expectations: expectations.map(([type, kwargs]) => ({ type, kwargs, meta: {} })) }),
  );
  return name;
}

/** The same check through both engines. */
async function bothEngines(
  check: Omit<DataCheck, 'engine'>,
  extra: Partial<DataChecksOptions> = {},
): Promise<{ native: DataCheckReport; gx: DataCheckReport }> {
  const native = await runDataCheck({ ...check, engine: 'native' }, options(extra));
  const gx = await runDataCheck({ ...check, engine: 'great_expectations' }, options(extra));
  assert.equal(native.error, undefined, native.error);
  assert.equal(gx.error, undefined, gx.error);
  return { native, gx };
}

const close = (a: unknown, b: unknown): boolean => {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => close(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => close((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
};

const NOT_NATIVE = /is not supported by the native engine/;
const COMPARED = [
  'element_count',
  'unexpected_count',
  'unexpected_percent',
  'missing_count',
  'partial_unexpected_list',
  'partial_unexpected_counts',
  'observed_value',
  'details',
];

/** Every difference between the engines' results, one line each. */
function differences(native: DataCheckReport, gx: DataCheckReport): string[] {
  assert.equal(native.results.length, gx.results.length);
  const diffs: string[] = [];
  native.results.forEach((n, i) => {
    const g = gx.results[i]!;
    const label = `#${i + 1} ${n.expectation_config.type}(${JSON.stringify(n.expectation_config.kwargs)})`;
    if (n.success !== g.success)
      diffs.push(`${label}: success native ${n.success}, gx ${g.success} (${g.exception_info.exception_message ?? ''})`);
    if (NOT_NATIVE.test(n.exception_info.exception_message ?? '')) return; // only GX runs it
    if (n.exception_info.raised_exception !== g.exception_info.raised_exception) {
      diffs.push(`${label}: raised native ${n.exception_info.exception_message}, gx ${g.exception_info.exception_message}`);
      return;
    }
    if (n.exception_info.raised_exception) return; // both failed with an error; the messages are each engine's own
    for (const key of COMPARED) {
      if (!close(n.result[key], g.result[key]))
        diffs.push(`${label}: ${key} native ${JSON.stringify(n.result[key])}, gx ${JSON.stringify(g.result[key])}`);
    }
  });
  return diffs;
}

function assertSameResults(native: DataCheckReport, gx: DataCheckReport): void {
  assert.deepEqual(differences(native, gx), []);
  assert.deepEqual(native.statistics, gx.statistics);
  // Error messages are each engine's own; everything else in the summary must agree.
  if (!native.results.some((r) => r.exception_info.raised_exception)) assert.equal(native.summary, gx.summary);
  assert.equal(native.rowCount, gx.rowCount);
  assert.deepEqual(native.dtypes, gx.dtypes, 'pandas types the columns as the native engine does');
}

// Ten rows that exercise missing values, floats written as integers, text, bools with and without
// gaps, 64-bit limits, pandas' missing-value markers and Unicode.
const EDGE_CSV = [
  'id,age,city,score,email,active,flag,big,code,blank,note',
  '1,34,Paris,0.5,a@x.org,True,True,9223372036854775808,007,,"x, ""quoted"""',
  '2,-4,Oslo,1.0,b@x.org,False,,1,1_000,,NA',
  '3,,Zürich,0.25,c@x.org,True,False,2,abc,,n/a',
  '4,150,Paris,0,not an email,True,True,3,x,,plain',
  '5,40,,0.75,e@x.org,False,True,4,y,,',
  '6,41,Atlantis,0.5,f@x.org,True,False,5,z,,"multi',
  'line"',
  '7,42,Oslo,0.5,g@x.org,True,True,6,0x10,,null',
  '8,43,Paris,0.5,h@x.org,True,True,7,1e,,None',
  '9,44,Oslo,0.5,i@x.org,True,,8,-,,none',
  '9,45,Paris,0.5,j@x.org,True,True,9, 1,,end',
].join('\r\n');

const EDGE_SUITE: [string, Record<string, unknown>][] = [
  ['expect_column_values_to_be_between', { column: 'age', min_value: 0, max_value: 120 }],
  ['expect_column_values_to_be_between', { column: 'age', min_value: 0, max_value: 120, mostly: 0.77 }],
  ['expect_column_values_to_be_between', { column: 'age', min_value: 0, max_value: 120, mostly: 0.78 }],
  ['expect_column_values_to_be_between', { column: 'score', min_value: 0, max_value: 1, strict_min: true, strict_max: true }],
  ['expect_column_values_to_be_between', { column: 'age', min_value: -4 }],
  ['expect_column_values_to_be_between', { column: 'age', max_value: 150, strict_max: true }],
  ['expect_column_values_to_be_between', { column: 'age', min_value: '2024-01-01' }],
  ['expect_column_values_to_be_between', { column: 'city', min_value: 0, max_value: 10 }],
  ['expect_column_values_to_be_between', { column: 'active', min_value: 0, max_value: 0.5 }],
  ['expect_column_values_to_be_between', { column: 'big', min_value: 0, max_value: 10 }],
  ['expect_column_values_to_not_be_null', { column: 'age' }],
  ['expect_column_values_to_not_be_null', { column: 'age', mostly: 0.9 }],
  ['expect_column_values_to_not_be_null', { column: 'flag' }],
  ['expect_column_values_to_not_be_null', { column: 'blank' }],
  ['expect_column_values_to_not_be_null', { column: 'note', mostly: 0.5 }],
  ['expect_column_values_to_be_in_set', { column: 'city', value_set: ['Paris', 'Oslo', 'Zürich'] }],
  ['expect_column_values_to_be_in_set', { column: 'city', value_set: ['Paris', 'Oslo', 'Zürich'], mostly: 0.85 }],
  ['expect_column_values_to_be_in_set', { column: 'score', value_set: [0, 0.25, 0.5, 0.75, 1] }],
  ['expect_column_values_to_be_in_set', { column: 'active', value_set: [1, 0] }],
  ['expect_column_values_to_be_in_set', { column: 'id', value_set: ['1', '2'] }],
  ['expect_column_values_to_be_in_set', { column: 'flag', value_set: [true] }],
  ['expect_column_values_to_be_in_set', { column: 'code', value_set: ['007', 'x', 'y', 'z'] }],
  ['expect_column_values_to_be_unique', { column: 'id' }],
  ['expect_column_values_to_be_unique', { column: 'email' }],
  ['expect_column_values_to_be_unique', { column: 'city', mostly: 0.5 }],
  ['expect_column_values_to_be_unique', { column: 'flag' }],
  ['expect_column_values_to_match_regex', { column: 'email', regex: '^[\\w.]+@\\w+\\.org$' }],
  ['expect_column_values_to_match_regex', { column: 'city', regex: '^\\w+$' }],
  ['expect_column_values_to_match_regex', { column: 'city', regex: 'ar' }],
  ['expect_column_values_to_match_regex', { column: 'score', regex: '^\\d\\.\\d+$' }],
  ['expect_column_values_to_match_regex', { column: 'active', regex: '^(True|False)$' }],
  ['expect_column_values_to_match_regex', { column: 'city', regex: '(?i)^[a-zü]+$', mostly: 0.8 }],
  ['expect_column_values_to_match_regex', { column: 'age', regex: '\\.0$' }],
  ['expect_column_values_to_match_regex', { column: 'flag', regex: '^True$' }],
  ['expect_column_values_to_match_regex', { column: 'note', regex: '\\n' }],
  ['expect_column_values_to_match_regex', { column: 'code', regex: '^\\d+$' }],
  ['expect_column_values_to_be_of_type', { column: 'id', type_: 'int' }],
  ['expect_column_values_to_be_of_type', { column: 'id', type_: 'int64' }],
  ['expect_column_values_to_be_of_type', { column: 'id', type_: 'float' }],
  ['expect_column_values_to_be_of_type', { column: 'age', type_: 'float64' }],
  ['expect_column_values_to_be_of_type', { column: 'age', type_: 'int64' }],
  ['expect_column_values_to_be_of_type', { column: 'score', type_: 'float' }],
  ['expect_column_values_to_be_of_type', { column: 'city', type_: 'str' }],
  ['expect_column_values_to_be_of_type', { column: 'city', type_: 'object' }],
  ['expect_column_values_to_be_of_type', { column: 'active', type_: 'bool' }],
  ['expect_column_values_to_be_of_type', { column: 'active', type_: 'int' }],
  ['expect_column_values_to_be_of_type', { column: 'flag', type_: 'bool' }],
  ['expect_column_values_to_be_of_type', { column: 'flag', type_: 'int' }],
  ['expect_column_values_to_be_of_type', { column: 'flag', type_: 'str' }],
  ['expect_column_values_to_be_of_type', { column: 'big', type_: 'uint64' }],
  ['expect_column_values_to_be_of_type', { column: 'blank', type_: 'float' }],
  ['expect_column_values_to_be_of_type', { column: 'code', type_: 'str' }],
  ['expect_column_mean_to_be_between', { column: 'age', min_value: 40, max_value: 60 }],
  ['expect_column_mean_to_be_between', { column: 'score', min_value: 0.5, max_value: 0.5 }],
  ['expect_column_mean_to_be_between', { column: 'score', min_value: 0.5, strict_min: true }],
  ['expect_column_mean_to_be_between', { column: 'active', min_value: 0.75 }],
  ['expect_column_mean_to_be_between', { column: 'blank', min_value: 0 }],
  ['expect_column_mean_to_be_between', { column: 'city', min_value: 0 }],
  ['expect_table_row_count_to_be_between', { min_value: 10, max_value: 10 }],
  ['expect_table_row_count_to_be_between', { min_value: 10, strict_min: true }],
  ['expect_column_to_exist', { column: 'email' }],
  ['expect_column_to_exist', { column: 'zip' }],
  ['expect_column_to_exist', { column: 'age', column_index: 1 }],
  ['expect_column_to_exist', { column: 'note', column_index: -1 }],
  ['expect_table_columns_to_match_ordered_list', { column_list: ['id', 'age', 'city'] }],
  [
    'expect_table_columns_to_match_ordered_list',
    { column_list: ['id', 'age', 'city', 'score', 'email', 'active', 'flag', 'big', 'code', 'blank', 'note'] },
  ],
  ['expect_table_columns_to_match_set', { column_set: ['id', 'age', 'zip'] }],
  ['expect_table_columns_to_match_set', { column_set: ['id', 'age'], exact_match: false }],
  ['expect_column_values_to_not_be_null', { column: 'zip' }],
  ['expect_column_values_to_not_be_null', { column: 'id', mostyl: 0.5 }],
  ['expect_column_values_to_be_frobnicated', { column: 'age' }],
  ['expect_column_value_lengths_to_be_between', { column: 'city', min_value: 1, max_value: 5 }],
];

// Object columns (mixed Python types), floats written as 1.0, nested values, keys missing from some lines.
const MIXED_JSONL = [
  '{"v": 1, "f": 1.0, "n": 5, "s": "a", "o": [1, "a"], "b": true, "e": 2.0}',
  '{"v": "x", "f": 2, "n": null, "s": null, "o": {"k": "v"}, "b": false, "e": 3.0}',
  '{"v": 2.5, "f": 2.5, "n": 7, "s": "c", "b": null, "e": 1e3}',
  '',
  '{"v": true, "f": 1e3, "n": 9, "s": "a", "e": -0.5}',
  '{"v": null, "s": "d", "e": 2.0}',
].join('\n');

const MIXED_SUITE: [string, Record<string, unknown>][] = [
  ['expect_column_values_to_be_of_type', { column: 'v', type_: 'int' }],
  ['expect_column_values_to_be_of_type', { column: 'v', type_: 'float' }],
  ['expect_column_values_to_be_of_type', { column: 'v', type_: 'str' }],
  ['expect_column_values_to_be_of_type', { column: 'v', type_: 'bool' }],
  ['expect_column_values_to_be_of_type', { column: 'v', type_: 'object' }],
  ['expect_column_values_to_be_of_type', { column: 'v', type_: 'int64' }],
  ['expect_column_values_to_be_of_type', { column: 'o', type_: 'list' }],
  ['expect_column_values_to_be_of_type', { column: 'f', type_: 'float64' }],
  ['expect_column_values_to_be_of_type', { column: 'e', type_: 'float' }],
  ['expect_column_values_to_be_of_type', { column: 'b', type_: 'bool' }],
  ['expect_column_values_to_match_regex', { column: 'v', regex: '^\\d' }],
  ['expect_column_values_to_match_regex', { column: 'o', regex: "^\\[1, 'a'\\]$|^\\{'k': 'v'\\}$" }],
  ['expect_column_values_to_match_regex', { column: 'e', regex: '^\\d+\\.0$' }],
  ['expect_column_values_to_match_regex', { column: 'f', regex: '^1' }],
  ['expect_column_values_to_be_in_set', { column: 'v', value_set: [1, 'x'] }],
  ['expect_column_values_to_be_in_set', { column: 'b', value_set: [true] }],
  ['expect_column_values_to_be_unique', { column: 's' }],
  ['expect_column_values_to_be_unique', { column: 'e' }],
  ['expect_column_values_to_be_between', { column: 'f', min_value: 0, max_value: 100 }],
  ['expect_column_values_to_be_between', { column: 'v', min_value: 0, max_value: 2 }],
  ['expect_column_values_to_be_between', { column: 'b', min_value: 1, max_value: 1 }],
  ['expect_column_mean_to_be_between', { column: 'f', min_value: 250, max_value: 252 }],
  ['expect_column_mean_to_be_between', { column: 'n', min_value: 7, max_value: 7 }],
  ['expect_column_mean_to_be_between', { column: 'e', max_value: 200 }],
  ['expect_column_values_to_not_be_null', { column: 'o' }],
  ['expect_table_columns_to_match_ordered_list', { column_list: ['v', 'f', 'n', 's', 'o', 'b', 'e'] }],
  ['expect_table_row_count_to_be_between', { min_value: 5, max_value: 5 }],
];

/** Columns drawn from a mix of kinds of values, so that every typing rule meets every other (seeded). */
function randomCsv(seed: number, rows: number, columns: number): string {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const kinds: (() => string)[] = [
    () => String(Math.floor(random() * 2000) - 1000),
    () => (random() * 100 - 50).toFixed(Math.floor(random() * 4)),
    () => pick(['', 'NA', 'null', 'nan', 'None', 'n/a', '#N/A', '""']),
    () => pick(['True', 'False', 'true', 'FALSE']),
    () =>
      pick([
        'oslo',
        'São Paulo',
        'x y',
        '"a, b"',
        '"say ""hi"""',
        '"two\nlines"',
        ' 7',
        '1e5',
        'inf',
        '-Infinity',
        '007',
        '9223372036854775807',
        '1_0',
        'none',
      ]),
  ];
  const header = Array.from({ length: columns }, (_, c) => `c${c}`);
  const plans = header.map(() => kinds.filter(() => random() < 0.5));
  const lines = [header.join(',')];
  for (let r = 0; r < rows; r++) lines.push(plans.map((plan) => (plan.length ? pick(plan)() : String(r))).join(','));
  return lines.join('\n') + '\n';
}

/** JSON Lines whose columns mix Python types, with keys missing from some lines (seeded). */
function randomJsonLines(seed: number, rows: number, columns: number): string {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const kinds: (() => string)[] = [
    () => String(Math.floor(random() * 20) - 10),
    () => pick(['1.0', '2.5', '1e3', '-0.5', '3.0', '10.25']),
    () => pick(['true', 'false']),
    () => JSON.stringify(pick(['a', 'b', '1', 'True', 'São', ''])),
    () => 'null',
    () => pick(['[1, 2]', '{"k": "v"}', '[]']),
  ];
  const plans = Array.from({ length: columns }, () => kinds.filter(() => random() < 0.4));
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    const fields = plans.flatMap((plan, c) => (plan.length && random() < 0.9 ? [`"c${c}": ${pick(plan)()}`] : []));
    lines.push(`{${fields.join(', ')}}`);
  }
  return lines.join('\n') + '\n';
}

describe('engine great_expectations: the real package, and the native engine agrees with it', { timeout: 600_000 }, () => {
  before(() => {
    writeFileSync(join(dir, 'edge.csv'), EDGE_CSV);
    writeFileSync(join(dir, 'mixed.jsonl'), MIXED_JSONL);
    writeSuite('edge.json', EDGE_SUITE);
    writeSuite('mixed.json', MIXED_SUITE);
    const db = new Database(join(dir, 'warehouse.db'));
    db.exec(`CREATE TABLE features (city TEXT, day TEXT, demand INTEGER, price REAL, promo INTEGER, note TEXT);
      INSERT INTO features VALUES
        ('oslo', '2024-05-01', 10, 2.0, 1, 'a'), ('oslo', '2024-05-02', 12, 2.5, 0, NULL), ('oslo', '2024-05-03', NULL, 3.0, 1, 'a'),
        ('oslo', '2024-05-04', 250, 1.0, 0, 'b'), ('rome', '2024-05-01', 7, -1.0, 1, 'c')`);
    db.close();
  });

  it('the people suite with failures, from CSV: same verdicts, counts, samples and summary', async () => {
    const { native, gx } = await bothEngines({ suite: 'people.suite.json', data: 'people.csv' });
    assert.equal(gx.success, false);
    assert.equal(gx.statistics.unsuccessful_expectations, 10);
    assert.match(gx.engineVersion!, /^great_expectations 1\.24\.1, pandas 3\./);
    const between = gx.failed.find((f) => f.expectation.type === 'expect_column_values_to_be_between')!;
    assert.deepEqual([between.unexpected_count, between.sample], [3, [-4, 150, 999]]);
    assertSameResults(native, gx);
  });

  it('the same data as JSON Lines, and the 0.18 suite', async () => {
    const jsonl = await bothEngines({ suite: 'people.suite.json', data: 'people.jsonl' });
    assertSameResults(jsonl.native, jsonl.gx);
    const legacy = await bothEngines({ suite: 'people.suite-0.18.json', data: 'people.csv' });
    assert.equal(legacy.gx.statistics.evaluated_expectations, 8);
    assertSameResults(legacy.native, legacy.gx);
  });

  it('edge cases of CSV typing and every native expectation', async () => {
    const { native, gx } = await bothEngines({ suite: 'edge.json', data: 'edge.csv' });
    assert.equal(gx.results.length, EDGE_SUITE.length);
    assert.deepEqual(differences(native, gx), []);
    // An unknown type fails in both engines, the others still run.
    const [unknown, lengths] = [gx.results.at(-2)!, gx.results.at(-1)!];
    assert.equal(unknown.success, false);
    assert.match(unknown.exception_info.exception_message!, /frobnicated/);
    // What only GX knows, GX evaluates; the native engine fails it and says where to run it.
    assert.deepEqual([lengths.success, lengths.exception_info.raised_exception, lengths.result.unexpected_count], [false, false, 2]);
    assert.match(native.results.at(-1)!.exception_info.exception_message!, NOT_NATIVE);
  });

  it('object columns from JSON Lines: mixed types, nested values, floats written as 2.0', async () => {
    const { native, gx } = await bothEngines({ suite: 'mixed.json', data: 'mixed.jsonl' });
    assertSameResults(native, gx);
  });

  it('random CSV columns: the same dtypes and the same verdicts', async () => {
    const columns = 40;
    writeFileSync(join(dir, 'random.csv'), randomCsv(42, 60, columns));
    const types = ['int', 'float', 'str', 'bool', 'object'];
    const perColumn = (c: number): [string, Record<string, unknown>][] => [
      ['expect_column_values_to_not_be_null', { column: `c${c}` }],
      ['expect_column_values_to_be_unique', { column: `c${c}` }],
      ['expect_column_values_to_match_regex', { column: `c${c}`, regex: '^-?\\d{1,2}(\\.\\d)?$' }],
      ['expect_column_values_to_be_in_set', { column: `c${c}`, value_set: [true, 1, 'oslo', 0.5, 'x y'] }],
      ['expect_column_values_to_be_of_type', { column: `c${c}`, type_: types[c % types.length] }],
      ['expect_column_values_to_be_between', { column: `c${c}`, min_value: -20, max_value: 20, strict_max: true }],
      ['expect_column_mean_to_be_between', { column: `c${c}`, min_value: -10, max_value: 10 }],
    ];
    const suite = writeSuite('random.json', Array.from({ length: columns }, (_, c) => perColumn(c)).flat());
    const { native, gx } = await bothEngines({ suite, data: 'random.csv' });
    assertSameResults(native, gx);
    assert.ok(new Set(Object.values(gx.dtypes!)).size >= 4, `a variety of dtypes: ${JSON.stringify(gx.dtypes)}`);
  });

  it('random JSON Lines columns: the same dtypes and the same verdicts', async () => {
    const columns = 30;
    writeFileSync(join(dir, 'random.jsonl'), randomJsonLines(42, 40, columns));
    const types = ['int', 'float', 'str', 'bool', 'object', 'list'];
    const perColumn = (c: number): [string, Record<string, unknown>][] => [
      ['expect_column_values_to_not_be_null', { column: `c${c}` }],
      ['expect_column_values_to_be_unique', { column: `c${c}` }],
      ['expect_column_values_to_match_regex', { column: `c${c}`, regex: '^-?\\d(\\.\\d)?$' }],
      ['expect_column_values_to_be_in_set', { column: `c${c}`, value_set: [true, 1, 'a', 2.5] }],
      ['expect_column_values_to_be_of_type', { column: `c${c}`, type_: types[c % types.length] }],
      ['expect_column_values_to_be_between', { column: `c${c}`, min_value: -5, max_value: 5 }],
      ['expect_column_mean_to_be_between', { column: `c${c}`, min_value: 0 }],
    ];
    const suite = writeSuite('random-jsonl.json', Array.from({ length: columns }, (_, c) => perColumn(c)).flat());
    const { native, gx } = await bothEngines({ suite, data: 'random.jsonl' });
    assertSameResults(native, gx);
  });

  it('sql: rows from a SQLite warehouse, bound to the group', async () => {
    const suite = writeSuite('features.json', [
      ['expect_column_values_to_be_of_type', { column: 'price', type_: 'float' }],
      ['expect_column_values_to_be_of_type', { column: 'demand', type_: 'float64' }],
      ['expect_column_values_to_be_of_type', { column: 'promo', type_: 'int64' }],
      ['expect_column_values_to_be_between', { column: 'demand', min_value: 0, max_value: 100 }],
      ['expect_column_values_to_be_between', { column: 'price', min_value: 0, strict_min: true }],
      ['expect_column_values_to_match_regex', { column: 'price', regex: '^\\d+\\.0$' }],
      ['expect_column_values_to_be_unique', { column: 'note' }],
      ['expect_column_values_to_not_be_null', { column: 'note' }],
      ['expect_column_mean_to_be_between', { column: 'price', min_value: 2, max_value: 2.5 }],
      ['expect_table_row_count_to_be_between', { min_value: 4, max_value: 4 }],
      ['expect_table_columns_to_match_ordered_list', { column_list: ['city', 'day', 'demand', 'price', 'promo', 'note'] }],
    ]);
    const { native, gx } = await bothEngines(
      { suite, data: 'sql: SELECT * FROM features WHERE city = :group ORDER BY day' },
      { group: 'oslo' },
    );
    assert.equal(gx.rowCount, 4);
    assertSameResults(native, gx);
  });
  it('sql: rows from PostgreSQL: numbers, booleans, dates as text, JSON values', async () => {
    const schema = `gx${process.pid}`;
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(
        `CREATE TABLE ${schema}.sales (store BIGINT, amount NUMERIC(8,2), ratio DOUBLE PRECISION, open BOOLEAN, day DATE, tags JSONB, note TEXT)`,
      );
      await client.query(`INSERT INTO ${schema}.sales VALUES
        (1, 10.00, 0.5, true, '2024-05-01', '["a"]', 'x'), (2, 12.50, NULL, false, '2024-05-02', NULL, NULL),
        (3, -3.00, 1, true, '2024-05-03', '{"k": 1}', 'x'), (4, 99.99, 2, NULL, '2024-05-04', '[1, 2]', 'y')`);
      const suite = writeSuite('sales.json', [
        ['expect_column_values_to_be_of_type', { column: 'store', type_: 'int64' }],
        ['expect_column_values_to_be_of_type', { column: 'amount', type_: 'float' }],
        ['expect_column_values_to_be_of_type', { column: 'open', type_: 'bool' }],
        ['expect_column_values_to_be_of_type', { column: 'tags', type_: 'list' }],
        ['expect_column_values_to_be_between', { column: 'amount', min_value: 0 }],
        ['expect_column_values_to_match_regex', { column: 'day', regex: '^2024-05-0[1-3]$' }],
        ['expect_column_values_to_match_regex', { column: 'amount', regex: '\\.0$' }],
        ['expect_column_values_to_be_unique', { column: 'note' }],
        ['expect_column_values_to_not_be_null', { column: 'tags' }],
        ['expect_column_mean_to_be_between', { column: 'ratio', min_value: 1.1, max_value: 1.2 }],
      ]);
      const { native, gx } = await bothEngines(
        { suite, data: `sql: SELECT * FROM ${schema}.sales ORDER BY store`, connection: 'dw' },
        { warehouses: { dw: POSTGRES_URL } },
      );
      assert.equal(gx.rowCount, 4);
      assertSameResults(native, gx);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});

describe('engine great_expectations: when it cannot run, the check fails and says why', { timeout: 120_000 }, () => {
  const check: DataCheck = { suite: 'people.suite.json', data: 'people.csv', engine: 'great_expectations' };

  it('the package is missing for that interpreter', async () => {
    // A fresh venv has no packages at all, whatever the system Python has.
    const bare = mkdtempSync(join(tmpdir(), 'mlp-bare-venv-'));
    execFileSync(PYTHON_VENV, ['-m', 'venv', '--without-pip', bare]);
    const python = join(bare, 'bin', 'python');
    const r = await runDataCheck(check, options({ python }));
    assert.equal(r.success, false);
    assert.equal(r.error, `the great_expectations Python package is not installed for ${python}: pip install great_expectations`);
  });

  it('the interpreter does not exist', async () => {
    const r = await runDataCheck(check, options({ python: '/nonexistent/python3' }));
    assert.equal(r.success, false);
    assert.match(r.error!, /the Python interpreter '\/nonexistent\/python3' was not found/);
  });

  it('a Python error shows its traceback', async () => {
    writeFileSync(join(dir, 'broken.csv'), 'id,age\n1,"30\n');
    const r = await runDataCheck({ ...check, data: 'broken.csv' }, options());
    assert.equal(r.success, false);
    assert.match(r.error!, /Great Expectations \(.*python\) exited with 1:\nTraceback \(most recent call last\):[\s\S]*EOF inside string/);
  });

  it('a run over its time is stopped, and says so', async () => {
    const slow = join(dir, 'slow-python');
    writeFileSync(slow, '#!/bin/sh\nsleep 30\n');
    chmodSync(slow, 0o755);
    const started = Date.now();
    const r = await runDataCheck(check, options({ python: slow, timeoutMs: 500 }));
    assert.ok(Date.now() - started < 10_000);
    assert.equal(r.success, false);
    assert.match(r.error!, /Great Expectations did not finish within 0\.5 s \(.*slow-python\); stopped it/);
  });
});
