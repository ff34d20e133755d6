/** Reading suites: GX 1.x and 0.18 JSON into one shape; anything else is an error that says why. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseSuite, readSuite } from '../../../daemon/checks/suite.js';

const fixtures = join(import.meta.dirname, '../../fixtures/gx');

describe('suites', () => {
  it('reads a 1.x suite', async () => {
    const suite = await readSuite(join(fixtures, 'people.suite.json'));
    assert.equal(suite.format, '1.x');
    assert.equal(suite.name, 'people');
    assert.equal(suite.expectations.length, 20);
    assert.deepEqual(suite.expectations[7], {
      type: 'expect_column_values_to_be_between',
      kwargs: { column: 'age', min_value: 0, max_value: 120 },
      meta: {},
    });
  });

  it('reads a 0.18 suite into the 1.x shape, dropping result-format kwargs', () => {
    const suite = parseSuite(
      {
        expectation_suite_name: 'legacy',
        data_asset_type: null,
        expectations: [
          {
            expectation_type: 'expect_column_values_to_not_be_null',
            kwargs: { column: 'id', result_format: 'COMPLETE', include_config: true },
            meta: { notes: 'x' },
          },
          { expectation_type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1 } },
        ],
        meta: { great_expectations_version: '0.18.19' },
      },
      'legacy.json',
    );
    assert.equal(suite.format, '0.18');
    assert.equal(suite.name, 'legacy');
    assert.deepEqual(suite.expectations, [
      { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'id' }, meta: { notes: 'x' } },
      { type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1 }, meta: {} },
    ]);
  });

  it('reads the 0.18 fixture like its 1.x twin', async () => {
    const legacy = await readSuite(join(fixtures, 'people.suite-0.18.json'));
    const current = await readSuite(join(fixtures, 'people.suite.json'));
    assert.equal(legacy.format, '0.18');
    for (const e of legacy.expectations)
      assert.ok(
        current.expectations.some((c) => JSON.stringify(c) === JSON.stringify(e)),
        e.type,
      );
  });

  it('names a missing file, bad JSON and an unknown format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlp-suite-'));
    await assert.rejects(readSuite(join(dir, 'nope.json'), 'expectations/nope.json'), /suite expectations\/nope\.json does not exist/);
    writeFileSync(join(dir, 'bad.json'), '{"name": "x", "expectations": [');
    await assert.rejects(readSuite(join(dir, 'bad.json'), 'bad.json'), /suite bad\.json is not valid JSON/);
    const unknown = /expected a Great Expectations suite: 1\.x .* or 0\.18/;
    assert.throws(() => parseSuite([], 's.json'), unknown);
    assert.throws(() => parseSuite({ name: 's', checks: [] }, 's.json'), /it has no "expectations" list/);
  });

  it('refuses malformed expectations and an empty suite instead of checking nothing', () => {
    assert.throws(() => parseSuite({ name: 's', expectations: [] }, 's.json'), /the suite has no expectations, so it would check nothing/);
    assert.throws(() => parseSuite({ name: 's', expectations: ['expect_x'] }, 's.json'), /expectation 1 must be an object/);
    assert.throws(
      () =>
        parseSuite({ name: 's', expectations: [{ type: 'expect_column_to_exist', kwargs: { column: 'a' } }, { kwargs: {} }] }, 's.json'),
      /suite s\.json: expectation 2 has no "type"/,
    );
    assert.throws(
      () =>
        parseSuite(
          { expectation_suite_name: 's', expectations: [{ type: 'expect_column_to_exist', kwargs: {} }, { expectation_type: 'x' }] },
          's.json',
        ),
      /expectation 1 has no "expectation_type" \(it has "type": a 1\.x key in a 0\.18 suite\)/,
    );
    assert.throws(
      () => parseSuite({ name: 's', expectations: [{ type: 'expect_column_to_exist', kwargs: ['a'] }] }, 's.json'),
      /"kwargs" must be an object, found a list/,
    );
  });
});
