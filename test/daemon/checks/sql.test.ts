/** `sql:` data from real warehouses: a SQLite file and the PostgreSQL server of the test setup. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Dataset } from '../../../daemon/checks/dataset.js';
import { bindGroup, queryDataset } from '../../../daemon/checks/sql.js';
import { POSTGRES_URL } from '../../helpers/services.js';

const shape = (data: Dataset) => Object.fromEntries(data.columns.map((c) => [c.name, { dtype: c.dtype, values: [...c.values] }]));

describe(':group in queries', () => {
  it('binds :group outside strings, quoted names, comments and casts', () => {
    assert.deepEqual(bindGroup('SELECT * FROM t WHERE city = :group AND note <> \':group\' -- :group\n AND x::text = ":group"', '$1'), {
      text: 'SELECT * FROM t WHERE city = $1 AND note <> \':group\' -- :group\n AND x::text = ":group"',
      usesGroup: true,
    });
    assert.deepEqual(bindGroup('SELECT a::group_type, :groups FROM t /* :group */', '?'), {
      text: 'SELECT a::group_type, :groups FROM t /* :group */',
      usesGroup: false,
    });
    assert.deepEqual(bindGroup('SELECT $$ :group $$, :group', '$1'), { text: 'SELECT $$ :group $$, $1', usesGroup: true });
  });
});

describe('sql: data from SQLite', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlp-checks-sql-'));
  const db = new Database(join(root, 'w.db'));
  db.exec(`CREATE TABLE features (city TEXT, demand INTEGER, price REAL, promo INTEGER, note TEXT);
    INSERT INTO features VALUES ('oslo', 10, 2.0, 1, 'a'), ('oslo', 12, 2.5, 0, NULL), ('rome', 7, 3.0, 1, 'c'), ('rome', NULL, 1.0, 0, 'd');`);
  db.close();
  const target = { connection: 'wh', url: 'sqlite:w.db', repoRoot: root };

  it('types columns as pandas would type the rows: REAL stays float even when whole', async () => {
    const data = await queryDataset(target, 'SELECT * FROM features ORDER BY rowid', undefined, 5000);
    assert.equal(data.rowCount, 4);
    assert.deepEqual(shape(data), {
      city: { dtype: 'str', values: ['oslo', 'oslo', 'rome', 'rome'] },
      demand: { dtype: 'float64', values: [10, 12, 7, null] },
      price: { dtype: 'float64', values: [2, 2.5, 3, 1] },
      promo: { dtype: 'int64', values: [1, 0, 1, 0] },
      note: { dtype: 'str', values: ['a', null, 'c', 'd'] },
    });
  });

  it('binds :group (every occurrence) and keeps the columns of an empty result', async () => {
    const oslo = await queryDataset(target, 'SELECT demand FROM features WHERE city = :group OR (:group IS NULL)', 'oslo', 5000);
    assert.deepEqual(shape(oslo), { demand: { dtype: 'int64', values: [10, 12] } });
    const none = await queryDataset(target, 'SELECT city, demand FROM features WHERE city = :group', 'paris', 5000);
    assert.deepEqual([none.rowCount, none.columns.map((c) => c.name)], [0, ['city', 'demand']]);
    await assert.rejects(
      queryDataset(target, 'SELECT * FROM features WHERE city = :group', undefined, 5000),
      /the query uses :group, but this check runs without a group/,
    );
  });

  it('names what is wrong: file, table, statement, repeated column names', async () => {
    await assert.rejects(
      queryDataset({ ...target, url: 'sqlite:missing.db' }, 'SELECT 1', undefined, 5000),
      /warehouse 'wh' \(sqlite:missing\.db\): SQLite file .*missing\.db does not exist/,
    );
    await assert.rejects(
      queryDataset(target, 'SELECT * FROM featurez', undefined, 5000),
      /warehouse 'wh' \(sqlite:w\.db\): no such table: featurez/,
    );
    await assert.rejects(
      queryDataset(target, 'DELETE FROM features', undefined, 5000),
      /the query returns no rows; data checks need a SELECT|readonly/,
    );
    await assert.rejects(queryDataset(target, 'SELECT city, city FROM features', undefined, 5000), /more than one column named 'city'/);
    await assert.rejects(
      queryDataset({ ...target, url: 'mysql://x' }, 'SELECT 1', undefined, 5000),
      /'mysql:' connections are not supported/,
    );
  });
});

describe('sql: data from PostgreSQL', () => {
  const schema = `checks${process.pid}`;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  const target = { connection: 'dw', url: POSTGRES_URL, repoRoot: '/' };
  before(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(
      `CREATE TABLE ${schema}.features (city TEXT, demand BIGINT, price NUMERIC(6,2), ratio DOUBLE PRECISION, promo BOOLEAN, day DATE, tags JSONB)`,
    );
    await client.query(`INSERT INTO ${schema}.features VALUES
      ('oslo', 10, 2.00, 0.5, true, '2024-05-01', '{"a": 1}'),
      ('oslo', 12, 2.50, NULL, false, '2024-05-02', NULL),
      ('rome', 7, 3.00, 1, true, '2024-05-03', '[1, 2]')`);
  });
  after(async () => {
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.end();
  });

  it('types numbers, booleans and JSON; dates arrive as their text', async () => {
    const data = await queryDataset(target, `SELECT * FROM ${schema}.features ORDER BY day`, undefined, 5000);
    assert.deepEqual(shape(data), {
      city: { dtype: 'str', values: ['oslo', 'oslo', 'rome'] },
      demand: { dtype: 'int64', values: [10, 12, 7] },
      price: { dtype: 'float64', values: [2, 2.5, 3] },
      ratio: { dtype: 'float64', values: [0.5, null, 1] },
      promo: { dtype: 'bool', values: [true, false, true] },
      day: { dtype: 'str', values: ['2024-05-01', '2024-05-02', '2024-05-03'] },
      tags: { dtype: 'object', values: [{ a: 1 }, null, [1, 2]] },
    });
  });

  it('binds :group as a parameter', async () => {
    const data = await queryDataset(
      target,
      `SELECT demand FROM ${schema}.features WHERE city = :group ORDER BY demand`,
      "rome' OR 'x'='x",
      5000,
    );
    assert.equal(data.rowCount, 0);
    const rome = await queryDataset(target, `SELECT demand FROM ${schema}.features WHERE city = :group`, 'rome', 5000);
    assert.deepEqual(shape(rome), { demand: { dtype: 'int64', values: [7] } });
  });

  it('names what is wrong, without the password; a slow query hits the timeout', async () => {
    await assert.rejects(
      queryDataset(target, `SELECT * FROM ${schema}.nope`, undefined, 5000),
      new RegExp(`warehouse 'dw' \\(postgres://mlp:\\*\\*\\*@.*\\): relation "${schema}.nope" does not exist`),
    );
    await assert.rejects(
      queryDataset({ ...target, url: 'postgres://mlp:secret@127.0.0.1:1/none' }, 'SELECT 1', undefined, 5000),
      (err: Error) => /cannot connect to warehouse 'dw'/.test(err.message) && !err.message.includes('secret'),
    );
    await assert.rejects(queryDataset(target, 'SELECT pg_sleep(5)', undefined, 300), /statement timeout/);
  });
});
