/** Group discovery against real warehouses: a SQLite file and the PostgreSQL server of the test setup. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { parsePipelineConfig, parseRepoConfig } from '../../../shared/config/load.js';
import { groupNameProblem, MAX_GROUP_NAME } from '../../../daemon/warehouse/group-names.js';
import { createGroupDirectory, groupsToRun } from '../../../daemon/warehouse/directory.js';
import { MlpError } from '../../../shared/errors.js';
import { discoverGroups, pipelineGroups, type GroupReads } from '../../../daemon/warehouse/groups.js';
import { POSTGRES_URL } from '../../helpers/services.js';

describe('groups from SQLite', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlp-wh-'));
  const db = new Database(join(root, 'w.db'));
  db.exec(
    "CREATE TABLE cities (name TEXT, region TEXT); INSERT INTO cities VALUES ('paris','eu'),('london','eu'),('austin','us'),('london','eu'),(NULL,'x')",
  );
  db.close();
  const warehouses = { wh: 'sqlite:w.db' };

  it('reads the distinct values of the first column, sorted, without nulls', async () => {
    assert.deepEqual(await discoverGroups({ connection: 'wh', table: 'cities' }, warehouses, root), ['austin', 'london', 'paris']);
    assert.deepEqual(await discoverGroups({ connection: 'wh', table: 'cities', key: 'region' }, warehouses, root), ['eu', 'us', 'x']);
  });

  it('names what is missing', async () => {
    await assert.rejects(
      discoverGroups({ connection: 'dw', table: 'cities' }, warehouses, root),
      /connection 'dw' is not declared in mlp.yaml \(declared: wh\)/,
    );
    await assert.rejects(discoverGroups({ connection: 'wh', table: 'towns' }, warehouses, root), /table 'towns' does not exist/);
    await assert.rejects(
      discoverGroups({ connection: 'wh', table: 'cities', key: 'city' }, warehouses, root),
      /has no column 'city' \(columns: name, region\)/,
    );
    await assert.rejects(
      discoverGroups({ connection: 'wh', table: 'cities' }, { wh: 'sqlite:missing.db' }, root),
      /SQLite file .*missing\.db does not exist/,
    );
  });
});

describe('values that cannot be groups', () => {
  it('refuses empty, blank, control characters and absurd lengths; anything else is a group', () => {
    assert.equal(groupNameProblem(''), 'a group name cannot be empty');
    assert.equal(groupNameProblem(' \t '), 'a group name cannot be only whitespace');
    assert.equal(groupNameProblem('..'), "a group name cannot be '..' (URLs resolve it, so no request could reach the group)");
    assert.equal(groupNameProblem('.'), "a group name cannot be '.' (URLs resolve it, so no request could reach the group)");
    assert.equal(groupNameProblem('lon\ndon'), 'a group name cannot contain control characters (U+000A at position 4)');
    assert.equal(groupNameProblem('nul\0'), 'a group name cannot contain control characters (U+0000 at position 4)');
    assert.equal(groupNameProblem('é'.repeat(MAX_GROUP_NAME + 1)), `a group name can be at most 255 characters long (this one has 256)`);
    for (const ok of [
      'london',
      'São Paulo',
      '../../../../OUTSIDE',
      '../other-pipeline/default',
      '...',
      '.hidden',
      ' london',
      '東京',
      'é'.repeat(MAX_GROUP_NAME),
    ]) {
      assert.equal(groupNameProblem(ok), null, ok);
    }
  });

  it('discovery leaves them out, says which and why, and keeps the other groups', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlp-wh-'));
    const db = new Database(join(root, 'w.db'));
    db.exec('CREATE TABLE cities (name TEXT)');
    const insert = db.prepare('INSERT INTO cities VALUES (?)');
    for (const name of ['london', '', '   ', 'lon\ndon', 'x'.repeat(300), '../../../../OUTSIDE']) insert.run(name);
    db.close();
    const { config } = parsePipelineConfig(
      'pipeline:\n  name: forecast\n  groups:\n    generate: true\n    source: wh.cities\n',
      'pipeline.yaml',
    );
    const found = await pipelineGroups(config!, { wh: 'sqlite:w.db' }, root);
    assert.deepEqual(found.groups, ['../../../../OUTSIDE', 'london']);
    assert.deepEqual(found.refused, [
      'groups.source wh.cities: the value "" is not used as a group: a group name cannot be empty (fix or remove its rows)',
      'groups.source wh.cities: the value "   " is not used as a group: a group name cannot be only whitespace (fix or remove its rows)',
      'groups.source wh.cities: the value "lon\\ndon" is not used as a group: a group name cannot contain control characters (U+000A at position 4) (fix or remove its rows)',
      `groups.source wh.cities: the value "${'x'.repeat(59)}…" (300 characters) is not used as a group: a group name can be at most 255 characters long (this one has 300) (fix or remove its rows)`,
    ]);
  });
});

describe("the daemon's group directory", () => {
  it('keeps refused values apart from the groups and reports them once, not at every refresh', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlp-wh-'));
    const db = new Database(join(root, 'w.db'));
    db.exec("CREATE TABLE cities (name TEXT); INSERT INTO cities VALUES ('london'), ('')");
    const { config } = parsePipelineConfig(
      'pipeline:\n  name: forecast\n  groups:\n    generate: true\n    source: wh.cities\n',
      'pipeline.yaml',
    );
    const reported: string[][] = [];
    const directory = createGroupDirectory({ onRefused: (_pipeline, refused) => reported.push(refused) });
    const repo = parseRepoConfig('warehouses:\n  wh: sqlite:w.db\n', 'mlp.yaml').config!;
    const refresh = () => directory.refresh([{ name: 'forecast', config: config! }], repo, root);

    await refresh();
    await refresh();
    assert.deepEqual(directory.get('forecast').groups, ['london']);
    assert.equal(directory.get('forecast').error, null);
    assert.equal(reported.length, 1);
    assert.match(reported[0]![0]!, /the value "" is not used as a group: a group name cannot be empty/);

    db.exec("INSERT INTO cities VALUES ('a\tb')");
    db.close();
    await refresh();
    assert.equal(reported.length, 2);
    assert.equal(directory.get('forecast').refused.length, 2);
  });
});

describe('one discovery pass over a fleet', () => {
  const pipeline = (name: string, source: string) =>
    parsePipelineConfig(`pipeline:\n  name: ${name}\n  groups:\n    generate: true\n    source: ${source}\n`, 'pipeline.yaml').config!;

  it('reads a source the pipelines share once, and each other source on its own', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlp-wh-'));
    const db = new Database(join(root, 'w.db'));
    db.exec(
      "CREATE TABLE cities (name TEXT); INSERT INTO cities VALUES ('london'), ('paris'); CREATE TABLE shops (id TEXT); INSERT INTO shops VALUES ('s1')",
    );
    db.close();
    const warehouses = { wh: 'sqlite:w.db' };
    const reads: GroupReads = new Map();
    assert.deepEqual((await pipelineGroups(pipeline('a', 'wh.cities'), warehouses, root, reads)).groups, ['london', 'paris']);
    rmSync(join(root, 'w.db')); // a second read of the file would now fail
    assert.deepEqual((await pipelineGroups(pipeline('b', 'wh.cities'), warehouses, root, reads)).groups, ['london', 'paris']);
    await assert.rejects(pipelineGroups(pipeline('c', 'wh.shops'), warehouses, root, reads), /w\.db does not exist/);
    assert.equal(reads.size, 2);
  });

  it('reads the warehouse afresh at the next pass', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mlp-wh-'));
    const db = new Database(join(root, 'w.db'));
    db.exec("CREATE TABLE cities (name TEXT); INSERT INTO cities VALUES ('london')");
    const repo = parseRepoConfig('warehouses:\n  wh: sqlite:w.db\n', 'mlp.yaml').config!;
    const fleet = ['a', 'b', 'c'].map((name) => ({ name, config: pipeline(name, 'wh.cities') }));
    const directory = createGroupDirectory();
    assert.deepEqual(await directory.refresh(fleet, repo, root), ['a', 'b', 'c']);
    db.exec("INSERT INTO cities VALUES ('paris')");
    db.close();
    assert.deepEqual(await directory.refresh(fleet, repo, root), ['a', 'b', 'c']);
    for (const name of ['a', 'b', 'c']) assert.deepEqual(directory.get(name).groups, ['london', 'paris']);
  });
});

describe('the groups a run trains', () => {
  const failure = (code: string, message: RegExp) => (err: unknown) =>
    err instanceof MlpError && err.code === code && message.test(err.message);

  it('are the groups discovery found, also those it kept after a failure', () => {
    assert.deepEqual(groupsToRun({ groups: ['london', 'paris'], error: null, refused: ['the value "" is not used as a group'] }), [
      'london',
      'paris',
    ]);
    assert.deepEqual(groupsToRun({ groups: ['london'], error: 'connection refused', refused: [] }), ['london']);
  });

  it('fail the run when there are none, saying why', () => {
    assert.throws(
      () => groupsToRun({ groups: [], error: "table 'towns' does not exist", refused: [] }),
      failure('unavailable', /^cannot discover groups: table 'towns' does not exist$/),
    );
    assert.throws(
      () =>
        groupsToRun({ groups: [], error: null, refused: ['the value "" is not used as a group', 'the value " " is not used as a group'] }),
      failure('check_failed', /^no group to run: the value "" is not used as a group; the value " " is not used as a group$/),
    );
  });
});

describe('groups from PostgreSQL', () => {
  const schema = `t${process.pid}`;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  before(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE ${schema}.stores (store_id INTEGER, city TEXT)`);
    await client.query(`INSERT INTO ${schema}.stores VALUES (3, 'oslo'), (1, 'rome'), (3, 'oslo'), (2, NULL)`);
  });
  after(async () => {
    await client.query(`DROP SCHEMA ${schema} CASCADE`);
    await client.end();
  });
  const warehouses = { dw: POSTGRES_URL };

  it('reads a schema-qualified table, first column by default or the key given', async () => {
    assert.deepEqual(await discoverGroups({ connection: 'dw', table: `${schema}.stores` }, warehouses, '/'), ['1', '2', '3']);
    assert.deepEqual(await discoverGroups({ connection: 'dw', table: `${schema}.stores`, key: 'city' }, warehouses, '/'), ['oslo', 'rome']);
  });

  it('names what is missing, without showing the password', async () => {
    await assert.rejects(
      discoverGroups({ connection: 'dw', table: `${schema}.shops` }, warehouses, '/'),
      new RegExp(`table '${schema}.shops' does not exist`),
    );
    await assert.rejects(
      discoverGroups({ connection: 'dw', table: `${schema}.stores`, key: 'region' }, warehouses, '/'),
      /has no column 'region' \(columns: store_id, city\)/,
    );
    await assert.rejects(
      discoverGroups({ connection: 'dw', table: 'x' }, { dw: 'postgres://mlp:secret@127.0.0.1:1/none' }, '/'),
      (err: Error) =>
        /cannot connect to warehouse 'dw' \(postgres:\/\/mlp:\*\*\*@127\.0\.0\.1:1\/none\)/.test(err.message) &&
        !err.message.includes('secret'),
    );
  });
});
