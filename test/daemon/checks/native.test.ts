/**
 * The native engine, expectation by expectation, with Great Expectations' semantics: missing values are
 * ignored except by not_be_null, `mostly` is a share of the non-missing values, unexpected_percent is
 * relative to them, and the result has GX's fields. (gx.test.ts compares it with the real package.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvDataset } from '../../../daemon/checks/csv.js';
import type { Dataset } from '../../../daemon/checks/dataset.js';
import { jsonLinesDataset } from '../../../daemon/checks/jsonl.js';
import { validateNative } from '../../../daemon/checks/native.js';
import { pythonRegex } from '../../../daemon/checks/pyregex.js';
import { pyFloat } from '../../../daemon/checks/python.js';
import type { ExpectationResult } from '../../../daemon/checks/results.js';

// 10 rows: age has one missing value and two out of 0..120; city one missing, one unknown.
const people = csvDataset(
  [
    'id,age,city,score,email,active',
    '1,34,Paris,0.5,a@x.org,True',
    '2,-4,Oslo,1.0,b@x.org,False',
    '3,,Zürich,0.25,c@x.org,True',
    '4,150,Paris,0,not an email,True',
    '5,40,,0.75,e@x.org,False',
    '6,41,Atlantis,0.5,f@x.org,True',
    '7,42,Oslo,0.5,g@x.org,True',
    '8,43,Paris,0.5,h@x.org,True',
    '9,44,Oslo,0.5,i@x.org,True',
    '9,45,Paris,0.5,j@x.org,True',
  ].join('\n'),
);

function check(type: string, kwargs: Record<string, unknown>, data: Dataset = people): ExpectationResult {
  return validateNative({ name: 't', format: '1.x', expectations: [{ type, kwargs, meta: {} }] }, data)[0]!;
}
const passes = (type: string, kwargs: Record<string, unknown>, data?: Dataset) => check(type, kwargs, data).success;

describe('column map expectations', () => {
  it('be_between: bounds inclusive by default, strict on request, missing values ignored', () => {
    const r = check('expect_column_values_to_be_between', { column: 'age', min_value: 0, max_value: 120 });
    assert.equal(r.success, false);
    assert.deepEqual(r.result, {
      element_count: 10,
      unexpected_count: 2,
      unexpected_percent: (2 / 9) * 100, // of the 9 non-missing values
      partial_unexpected_list: [-4, 150],
      missing_count: 1,
      missing_percent: 10,
      unexpected_percent_total: 20,
      unexpected_percent_nonmissing: (2 / 9) * 100,
      partial_unexpected_counts: [
        { value: -4, count: 1 },
        { value: 150, count: 1 },
      ],
      partial_unexpected_index_list: [1, 3],
    });
    assert.equal(passes('expect_column_values_to_be_between', { column: 'score', min_value: 0, max_value: 1 }), true);
    const strict = check('expect_column_values_to_be_between', {
      column: 'score',
      min_value: 0,
      max_value: 1,
      strict_min: true,
      strict_max: true,
    });
    assert.deepEqual(strict.result.partial_unexpected_list, [1, 0]);
    assert.equal(passes('expect_column_values_to_be_between', { column: 'age', min_value: -4 }), true);
    assert.equal(passes('expect_column_values_to_be_between', { column: 'age', max_value: 150, strict_max: true }), false);
  });

  it('mostly: the share of non-missing values that must pass', () => {
    // 7 of 9 non-missing ages are in range: 0.777...
    assert.equal(passes('expect_column_values_to_be_between', { column: 'age', min_value: 0, max_value: 120, mostly: 0.77 }), true);
    assert.equal(passes('expect_column_values_to_be_between', { column: 'age', min_value: 0, max_value: 120, mostly: 0.78 }), false);
    assert.match(
      check('expect_column_values_to_be_between', { column: 'age', min_value: 0, max_value: 1, mostly: 2 }).exception_info
        .exception_message!,
      /mostly must be a number from 0 to 1/,
    );
  });

  it('be_between: text against number bounds, text bounds, reversed or absent bounds are errors', () => {
    const text = check('expect_column_values_to_be_between', { column: 'city', min_value: 0, max_value: 10 });
    assert.equal(text.success, false);
    assert.match(text.exception_info.exception_message!, /must either be None or of the same type/);
    assert.match(
      check('expect_column_values_to_be_between', { column: 'age', min_value: 5, max_value: 1 }).exception_info.exception_message!,
      /min_value cannot be greater than max_value/,
    );
    assert.match(check('expect_column_values_to_be_between', { column: 'age' }).exception_info.exception_message!, /cannot both be None/);
    assert.match(
      check('expect_column_values_to_be_between', { column: 'city', min_value: 'A' }).exception_info.exception_message!,
      /compares numbers only; dates need engine: great_expectations/,
    );
  });

  it('not_be_null counts missing values against all rows', () => {
    const r = check('expect_column_values_to_not_be_null', { column: 'age' });
    assert.equal(r.success, false);
    assert.deepEqual(r.result, {
      element_count: 10,
      unexpected_count: 1,
      unexpected_percent: 10,
      partial_unexpected_list: [null],
      partial_unexpected_counts: [{ value: null, count: 1 }],
      partial_unexpected_index_list: [2],
    });
    assert.equal(passes('expect_column_values_to_not_be_null', { column: 'age', mostly: 0.9 }), true);
    assert.equal(passes('expect_column_values_to_not_be_null', { column: 'id' }), true);
  });

  it('be_in_set compares as Python does (1 == 1.0 == True; "1" is not 1)', () => {
    const r = check('expect_column_values_to_be_in_set', { column: 'city', value_set: ['Paris', 'Oslo', 'Zürich'] });
    assert.equal(r.success, false);
    assert.deepEqual(
      [r.result.unexpected_count, r.result.partial_unexpected_list, r.result.unexpected_percent],
      [1, ['Atlantis'], (1 / 9) * 100],
    );
    assert.equal(
      passes('expect_column_values_to_be_in_set', { column: 'city', value_set: ['Paris', 'Oslo', 'Zürich'], mostly: 0.85 }),
      true,
    );
    assert.equal(passes('expect_column_values_to_be_in_set', { column: 'score', value_set: [0, 0.25, 0.5, 0.75, 1] }), true);
    assert.equal(passes('expect_column_values_to_be_in_set', { column: 'active', value_set: [1, 0] }), true);
    assert.equal(passes('expect_column_values_to_be_in_set', { column: 'id', value_set: ['1', '2'] }), false);
    assert.match(check('expect_column_values_to_be_in_set', { column: 'id' }).exception_info.exception_message!, /value_set is required/);
  });

  it('be_unique marks every occurrence of a repeated value', () => {
    const r = check('expect_column_values_to_be_unique', { column: 'id' });
    assert.deepEqual(
      [r.success, r.result.unexpected_count, r.result.partial_unexpected_list, r.result.partial_unexpected_counts],
      [false, 2, [9, 9], [{ value: 9, count: 2 }]],
    );
    assert.equal(passes('expect_column_values_to_be_unique', { column: 'email' }), true);
    assert.equal(passes('expect_column_values_to_be_unique', { column: 'id', mostly: 0.8 }), true);
  });

  it('match_regex searches the text of each value with Python regex semantics', () => {
    const r = check('expect_column_values_to_match_regex', { column: 'email', regex: '^[\\w.]+@\\w+\\.org$' });
    assert.deepEqual([r.success, r.result.partial_unexpected_list], [false, ['not an email']]);
    assert.equal(passes('expect_column_values_to_match_regex', { column: 'city', regex: '^\\w+$' }), true, 'Zürich is a word for Python');
    assert.equal(passes('expect_column_values_to_match_regex', { column: 'city', regex: 'ar' }), false, 'a search, not a full match');
    // Floats are matched as Python writes them: 1.0, not 1.
    assert.equal(passes('expect_column_values_to_match_regex', { column: 'score', regex: '^\\d\\.\\d+$' }), true);
    assert.equal(passes('expect_column_values_to_match_regex', { column: 'active', regex: '^(True|False)$' }), true);
    assert.equal(passes('expect_column_values_to_match_regex', { column: 'city', regex: '(?i)^[a-zü]+$', mostly: 0.8 }), true);
  });

  it('be_of_type checks the dtype by numpy / Python names', () => {
    const cases: [string, string, boolean][] = [
      ['id', 'int', true],
      ['id', 'int64', true],
      ['id', 'float', false],
      ['age', 'float64', true], // integers with a missing value are floats in pandas
      ['age', 'int64', false],
      ['score', 'float', true],
      ['city', 'str', true],
      ['city', 'object', false], // pandas 3 text columns are `str`
      ['active', 'bool', true],
      ['active', 'int', false],
    ];
    for (const [column, type_, expected] of cases) {
      const r = check('expect_column_values_to_be_of_type', { column, type_ });
      assert.equal(r.success, expected, `${column} ${type_}`);
    }
    assert.deepEqual(check('expect_column_values_to_be_of_type', { column: 'age', type_: 'int' }).result, { observed_value: 'float64' });
  });

  it('be_of_type checks an object column value by value', () => {
    const mixed = jsonLinesDataset('{"v": 1}\n{"v": "x"}\n{"v": 2.5}\n{"v": true}\n{"v": null}\n');
    assert.equal(mixed.columns[0]!.dtype, 'object');
    const r = check('expect_column_values_to_be_of_type', { column: 'v', type_: 'int' }, mixed);
    assert.deepEqual([r.success, r.result.unexpected_count, r.result.partial_unexpected_list], [false, 2, ['x', 2.5]]); // True is an int in Python
    assert.equal(passes('expect_column_values_to_be_of_type', { column: 'v', type_: 'object' }, mixed), true);
    assert.match(
      check('expect_column_values_to_be_of_type', { column: 'v', type_: 'integer' }, mixed).exception_info.exception_message!,
      /Unrecognized numpy\/python type: integer/,
    );
  });
});

describe('aggregate and table expectations', () => {
  it('mean_to_be_between over non-missing values, strict bounds', () => {
    const r = check('expect_column_mean_to_be_between', { column: 'age', min_value: 40, max_value: 60 });
    assert.deepEqual(r.result, { observed_value: (34 - 4 + 150 + 40 + 41 + 42 + 43 + 44 + 45) / 9 });
    assert.equal(r.success, true);
    assert.equal(passes('expect_column_mean_to_be_between', { column: 'score', min_value: 0.5, max_value: 0.5 }), true);
    assert.equal(passes('expect_column_mean_to_be_between', { column: 'score', min_value: 0.5, strict_min: true }), false);
    assert.match(
      check('expect_column_mean_to_be_between', { column: 'city', min_value: 0 }).exception_info.exception_message!,
      /not numeric/,
    );
    const empty = csvDataset('a,b\n,1\n,2\n');
    assert.deepEqual(check('expect_column_mean_to_be_between', { column: 'a', min_value: 0 }, empty), {
      ...check('expect_column_mean_to_be_between', { column: 'a', min_value: 0 }, empty),
      success: false,
      result: { observed_value: null },
    });
  });

  it('table_row_count_to_be_between', () => {
    assert.deepEqual(check('expect_table_row_count_to_be_between', { min_value: 10, max_value: 10 }).result, { observed_value: 10 });
    assert.equal(passes('expect_table_row_count_to_be_between', { min_value: 10, max_value: 10 }), true);
    assert.equal(passes('expect_table_row_count_to_be_between', { min_value: 10, strict_min: true }), false);
    assert.equal(passes('expect_table_row_count_to_be_between', { max_value: 9 }), false);
  });

  it('column_to_exist, by name or at a position', () => {
    assert.equal(passes('expect_column_to_exist', { column: 'email' }), true);
    assert.equal(passes('expect_column_to_exist', { column: 'zip' }), false);
    assert.equal(passes('expect_column_to_exist', { column: 'age', column_index: 1 }), true);
    assert.equal(passes('expect_column_to_exist', { column: 'age', column_index: 2 }), false);
    assert.equal(passes('expect_column_to_exist', { column: 'active', column_index: -1 }), true);
  });

  it('table_columns_to_match_ordered_list reports where they differ', () => {
    assert.equal(
      passes('expect_table_columns_to_match_ordered_list', { column_list: ['id', 'age', 'city', 'score', 'email', 'active'] }),
      true,
    );
    const r = check('expect_table_columns_to_match_ordered_list', { column_list: ['id', 'city', 'age'] });
    assert.equal(r.success, false);
    assert.deepEqual((r.result.details as { mismatched: unknown[] }).mismatched, [
      { 'Expected Column Position': 1, Expected: 'city', Found: 'age' },
      { 'Expected Column Position': 2, Expected: 'age', Found: 'city' },
      { 'Expected Column Position': 3, Expected: null, Found: 'score' },
      { 'Expected Column Position': 4, Expected: null, Found: 'email' },
      { 'Expected Column Position': 5, Expected: null, Found: 'active' },
    ]);
  });

  it('table_columns_to_match_set, exact or as a subset', () => {
    const all = ['active', 'age', 'city', 'email', 'id', 'score'];
    assert.equal(passes('expect_table_columns_to_match_set', { column_set: all }), true);
    const r = check('expect_table_columns_to_match_set', { column_set: ['id', 'age', 'zip'] });
    assert.deepEqual(r.result, {
      observed_value: all,
      details: { mismatched: { unexpected: ['active', 'city', 'email', 'score'], missing: ['zip'] } },
    });
    assert.equal(passes('expect_table_columns_to_match_set', { column_set: ['id', 'age'], exact_match: false }), true);
    assert.equal(passes('expect_table_columns_to_match_set', { column_set: ['id', 'zip'], exact_match: false }), false);
  });
});

describe('what the native engine does not do is a failure that says so', () => {
  it('an unknown expectation fails and points at engine: great_expectations', () => {
    const r = check('expect_column_kl_divergence_to_be_less_than', { column: 'age' });
    assert.equal(r.success, false);
    assert.equal(r.exception_info.raised_exception, true);
    assert.match(
      r.exception_info.exception_message!,
      /expect_column_kl_divergence_to_be_less_than is not supported by the native engine: set engine: great_expectations/,
    );
  });

  it('a missing column, an unknown kwarg, a row_condition, a suite parameter', () => {
    assert.match(
      check('expect_column_values_to_not_be_null', { column: 'zip' }).exception_info.exception_message!,
      /column 'zip' does not exist \(columns: id, age, city, score, email, active\)/,
    );
    assert.match(
      check('expect_column_values_to_not_be_null', { column: 'id', mostyl: 0.9 }).exception_info.exception_message!,
      /does not take 'mostyl' \(it takes column, mostly\)/,
    );
    assert.match(
      check('expect_column_values_to_not_be_null', { column: 'id', row_condition: 'age > 3' }).exception_info.exception_message!,
      /row_condition is not supported/,
    );
    assert.match(
      check('expect_column_values_to_be_between', { column: 'age', min_value: { $PARAMETER: 'lo' } }).exception_info.exception_message!,
      /suite parameters/,
    );
  });

  it('one failing expectation does not stop the others', () => {
    const results = validateNative(
      {
        name: 't',
        format: '1.x',
        expectations: [
          { type: 'expect_nothing_known', kwargs: {}, meta: {} },
          { type: 'expect_column_to_exist', kwargs: { column: 'id' }, meta: {} },
        ],
      },
      people,
    );
    assert.deepEqual(
      results.map((r) => r.success),
      [false, true],
    );
  });
});

describe('Python semantics the engine relies on', () => {
  it('repr(float)', () => {
    const cases: [number, string][] = [
      [1, '1.0'],
      [0.1, '0.1'],
      [1e16, '1e+16'],
      [1.5e16, '1.5e+16'],
      [1.2345678901234568e17, '1.2345678901234568e+17'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [-2.5, '-2.5'],
      [1234.5, '1234.5'],
      [-0, '-0.0'],
      [Infinity, 'inf'],
    ];
    for (const [x, s] of cases) assert.equal(pyFloat(x), s, String(x));
  });

  it('Python regexes carried over to JavaScript', () => {
    const cases: [string, string, boolean][] = [
      ['^\\w+$', 'São', true],
      ['^\\d+$', '٣٤', true],
      ['^[\\w-]+$', 'a-b_ü', true],
      ['\\bcat\\b', 'the cat sat', true],
      ['\\bcat\\b', 'concatenate', false],
      ['(?P<y>\\d{4})-(?P=y)', '2024-2024', true],
      ['\\Aab\\Z', 'ab', true],
      ['ab$', 'ab\n', true],
      ['a.b', 'a\nb', false],
      ['(?s)a.b', 'a\nb', true],
      ['(?i)paris', 'PARIS', true],
      ['a{,2}b', 'aab', true],
      ['x{', 'x{', true],
      ['[]a]', ']', true],
      ['\\-\\#\\ ', '-# ', true],
      ['\\$\\d\\.\\d', '$5.0', true],
    ];
    for (const [pattern, value, expected] of cases)
      assert.equal(pythonRegex(pattern).test(value), expected, `${pattern} on ${JSON.stringify(value)}`);
    assert.throws(() => pythonRegex('(?x) a b'), /verbose/);
    assert.throws(() => pythonRegex('\\q'), /bad escape/);
  });
});
