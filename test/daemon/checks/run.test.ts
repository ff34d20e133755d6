/**
 * runDataChecks with the native engine, as the rollout calls it: one report per check, in order; a
 * check that cannot run fails and names what is missing; the summary is one line a person understands.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runDataChecks, type DataChecksOptions } from '../../../daemon/checks/index.js';
import type { DataCheck } from '../../../shared/config/schema.js';

const fixtures = join(import.meta.dirname, '../../fixtures/gx');

/** A repo with a pipeline folder holding the fixtures, and a SQLite warehouse at its root. */
function repo(): { root: string; pipelineDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'mlp-checks-'));
  const pipelineDir = join(root, 'pipelines', 'people');
  mkdirSync(join(pipelineDir, 'expectations'), { recursive: true });
  mkdirSync(join(pipelineDir, 'data'));
  for (const f of ['people.suite.json', 'people.suite-0.18.json']) copyFileSync(join(fixtures, f), join(pipelineDir, 'expectations', f));
  for (const f of ['people.csv', 'people.jsonl']) copyFileSync(join(fixtures, f), join(pipelineDir, 'data', f));
  const db = new Database(join(root, 'warehouse.db'));
  db.exec(`CREATE TABLE people (id INTEGER, city TEXT, age INTEGER);
    INSERT INTO people VALUES (1, 'oslo', 30), (2, 'oslo', 200), (3, 'rome', 40)`);
  db.close();
  writeFileSync(
    join(pipelineDir, 'expectations', 'ages.json'),
    JSON.stringify({
      name: 'ages',
      expectations: [{ type: 'expect_column_values_to_be_between', kwargs: { column: 'age', min_value: 0, max_value: 120 } }],
    }),
  );
  return { root, pipelineDir };
}

const check = (suite: string, data: string, extra: Partial<DataCheck> = {}): DataCheck => ({ suite, data, engine: 'native', ...extra });

describe('runDataChecks (native engine)', () => {
  const { root, pipelineDir } = repo();
  const opts = (checks: DataCheck[], extra: Partial<DataChecksOptions> = {}): DataChecksOptions => ({
    checks,
    pipelineDir,
    repoRoot: root,
    warehouses: { warehouse: 'sqlite:warehouse.db' },
    defaultConnection: 'warehouse',
    ...extra,
  });

  it('reports each check in order, with the failures, a sample and a one-line summary', async () => {
    const reports = await runDataChecks(
      opts(
        [
          check('expectations/people.suite.json', 'data/people.csv'),
          check('expectations/ages.json', 'sql: SELECT * FROM people WHERE city = :group'),
        ],
        { group: 'rome' },
      ),
    );
    assert.equal(reports.length, 2);
    const [people, ages] = reports as [NonNullable<(typeof reports)[0]>, NonNullable<(typeof reports)[0]>];
    assert.equal(people.success, false);
    assert.equal(people.engine, 'native');
    assert.equal(people.rowCount, 40);
    assert.deepEqual(people.statistics, {
      evaluated_expectations: 20,
      successful_expectations: 10,
      unsuccessful_expectations: 10,
      success_percent: 50,
    });
    assert.equal(people.failed.length, 10);
    assert.deepEqual(
      people.failed.find((f) => f.expectation.type === 'expect_column_values_to_be_between'),
      {
        expectation: { type: 'expect_column_values_to_be_between', kwargs: { column: 'age', min_value: 0, max_value: 120 } },
        unexpected_count: 3,
        unexpected_percent: (3 / 38) * 100,
        element_count: 40,
        sample: [-4, 150, 999],
      },
    );
    assert.deepEqual(
      people.failed.find((f) => f.expectation.type === 'expect_column_values_to_be_of_type'),
      {
        expectation: { type: 'expect_column_values_to_be_of_type', kwargs: { column: 'age', type_: 'int64' } },
        observed: 'float64',
      },
    );
    assert.equal(
      people.summary,
      '10 of 20 expectations failed: expect_table_columns_to_match_set({id, name, age, city, email, score, active, signup}): missing signup; ' +
        'expect_column_to_exist(zip): no such column; expect_column_values_to_not_be_null(age): 2 of 40 values (5%) null; and 7 more',
    );
    assert.equal(typeof people.durationMs, 'number');
    assert.equal(ages.success, true);
    assert.equal(ages.summary, 'all 1 expectation passed on 1 row');
  });

  it('describes each kind of failure in the summary', async () => {
    const dir = join(pipelineDir, 'expectations');
    const one = (type: string, kwargs: Record<string, unknown>) => {
      writeFileSync(join(dir, 'one.json'), JSON.stringify({ name: 'one', expectations: [{ type, kwargs }] }));
      return runDataChecks(opts([check('expectations/one.json', 'data/people.csv')])).then((r) => r[0]!.summary);
    };
    assert.equal(
      await one('expect_column_values_to_be_between', { column: 'age', min_value: 0, max_value: 120 }),
      '1 of 1 expectation failed: expect_column_values_to_be_between(age, 0..120): 3 of 38 values (7.9%) outside, e.g. -4, 150, 999',
    );
    assert.equal(
      await one('expect_column_values_to_be_unique', { column: 'id', mostly: 0.99 }),
      '1 of 1 expectation failed: expect_column_values_to_be_unique(id): 2 of 40 values (5%) repeated, e.g. 7 (mostly 0.99 allows 1%)',
    );
    assert.equal(
      await one('expect_column_mean_to_be_between', { column: 'age', max_value: 50 }),
      '1 of 1 expectation failed: expect_column_mean_to_be_between(age, <= 50): mean is 79.2368',
    );
    assert.equal(
      await one('expect_table_row_count_to_be_between', { min_value: 100 }),
      '1 of 1 expectation failed: expect_table_row_count_to_be_between(>= 100): 40 rows',
    );
    assert.equal(
      await one('expect_column_values_to_be_in_set', { column: 'city', value_set: ['Paris', 'Oslo'] }),
      '1 of 1 expectation failed: expect_column_values_to_be_in_set(city, {Paris, Oslo}): 23 of 39 values (59%) not in the set, e.g. "London", "São Paulo", "Zürich"',
    );
    assert.match(
      await one('expect_column_pair_values_to_be_equal', { column_A: 'a', column_B: 'b' }),
      /^1 of 1 expectation failed: expect_column_pair_values_to_be_equal\(\): error: expect_column_pair_values_to_be_equal is not supported by the native engine: set engine: great_expectations/,
    );
  });

  it('reads a 0.18 suite and JSON Lines data', async () => {
    const [r] = await runDataChecks(opts([check('expectations/people.suite-0.18.json', 'data/people.jsonl')]));
    assert.equal(r!.error, undefined);
    assert.deepEqual(
      r!.results.map((x) => [x.expectation_config.type, x.success]),
      [
        ['expect_table_row_count_to_be_between', true],
        ['expect_column_values_to_not_be_null', false],
        ['expect_column_values_to_be_between', false],
        ['expect_column_values_to_be_between', true],
        ['expect_column_values_to_be_in_set', false],
        ['expect_column_values_to_be_unique', false],
        ['expect_column_values_to_match_regex', false],
        ['expect_column_values_to_be_of_type', false],
      ],
    );
  });

  it('a check that cannot run fails, names what is missing, and the others still run', async () => {
    const reports = await runDataChecks(
      opts(
        [
          check('expectations/missing.json', 'data/people.csv'),
          check('expectations/ages.json', 'data/missing.csv'),
          check('expectations/ages.json', 'data/people.parquet'),
          check('expectations/ages.json', 'sql: SELECT * FROM people', { connection: 'dw' }),
          check('expectations/ages.json', 'sql: SELECT * FROM nobody'),
          check('expectations/ages.json', 'sql: SELECT * FROM people WHERE city = :group'),
          check('expectations/ages.json', 'sql: SELECT * FROM people'),
        ],
        { defaultConnection: undefined, warehouses: { warehouse: 'sqlite:warehouse.db' } },
      ),
    );
    const errors = reports.map((r) => [r.success, r.error]);
    assert.deepEqual(
      errors.map(([s]) => s),
      [false, false, false, false, false, false, false],
    );
    const messages = errors.map(([, e]) => e as string);
    assert.match(messages[0]!, /suite expectations\/missing\.json does not exist/);
    assert.match(messages[1]!, /data file data\/missing\.csv does not exist/);
    assert.match(messages[2]!, /'\.parquet' is not a format data checks read; use a \.csv or \.jsonl file/);
    assert.match(messages[3]!, /warehouse connection 'dw' is not declared in mlp\.yaml \(declared: warehouse\)/);
    assert.match(messages[4]!, /needs a warehouse connection: set connection on this check or groups\.source/);
    assert.match(messages[5]!, /needs a warehouse connection/);
    assert.match(
      reports[0]!.summary,
      /^could not check data\/people\.csv against expectations\/missing\.json: suite expectations\/missing\.json does not exist/,
    );

    const withConnection = await runDataChecks(
      opts([
        check('expectations/ages.json', 'sql: SELECT * FROM nobody'),
        check('expectations/ages.json', 'sql: SELECT * FROM people WHERE city = :group'),
      ]),
    );
    assert.match(withConnection[0]!.error!, /warehouse 'warehouse' \(sqlite:warehouse\.db\): no such table: nobody/);
    assert.match(withConnection[1]!.error!, /uses :group, but this check runs without a group/);
  });

  it('a data file that is not what it claims is an error, not a pass', async () => {
    writeFileSync(join(pipelineDir, 'data', 'broken.csv'), 'id,age\n1,"30\n');
    writeFileSync(join(pipelineDir, 'data', 'broken.jsonl'), '{"id": 1}\n[1, 2]\n');
    const [csv, jsonl] = await runDataChecks(
      opts([check('expectations/ages.json', 'data/broken.csv'), check('expectations/ages.json', 'data/broken.jsonl')]),
    );
    assert.match(csv!.error!, /data\/broken\.csv: the quoted field starting on line 2 never ends/);
    assert.match(jsonl!.error!, /data\/broken\.jsonl: line 2 is not a JSON object/);
  });
});
