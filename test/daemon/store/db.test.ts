import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MlpError } from '../../../shared/errors.js';
import { openStore, openStoreAt } from '../../../daemon/store/db.js';
import { migrate, type Migration } from '../../../daemon/store/migrate.js';
import { migrations } from '../../../daemon/store/migrations/index.js';
import { tempDir } from './helpers.js';

const latest = migrations.length;

function userVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (
      db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as {
        name: string;
      }[]
    ).map((r) => r.name);
  } finally {
    db.close();
  }
}

function expectUnavailable(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MlpError, `expected an MlpError, got ${String(err)}`);
    assert.equal(err.code, 'unavailable');
    assert.match(err.message, message);
    return true;
  });
}

describe('openStore', () => {
  test('creates a private data dir and migrates an empty database to the latest schema', () => {
    const dataDir = join(tempDir(), 'nested', 'data');
    const store = openStore(dataDir);
    store.close();
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(store.file, join(dataDir, 'mlp.db'));
    assert.equal(userVersion(store.file), latest);
    assert.deepEqual(tables(store.file), [
      'audit',
      'decisions',
      'logs',
      'model_versions',
      'notifications',
      'pipelines',
      'rollouts',
      'runs',
      'step_runs',
      'tokens',
      'variants',
    ]);
  });

  test('reopening a current database changes nothing', () => {
    const dataDir = tempDir();
    openStore(dataDir).close();
    const db = new Database(join(dataDir, 'mlp.db'));
    const before = db.prepare('SELECT sql FROM sqlite_schema ORDER BY name').all();
    db.close();
    const store = openStore(dataDir);
    store.close();
    const again = new Database(store.file, { readonly: true });
    assert.deepEqual(again.prepare('SELECT sql FROM sqlite_schema ORDER BY name').all(), before);
    again.close();
    assert.equal(userVersion(store.file), latest);
  });

  test('journals in WAL mode and enforces foreign keys', () => {
    const dataDir = tempDir();
    const store = openStore(dataDir);
    const probe = new Database(store.file);
    try {
      // journal_mode is a property of the file; the others are per connection, so check the store's
      // by what they do: a dangling foreign key is refused.
      assert.equal(probe.pragma('journal_mode', { simple: true }), 'wal');
      assert.throws(
        () => store.stepRuns.start({ runId: 'r-missing', step: 'train', executor: 'local' }),
        (err: unknown) => err instanceof MlpError && err.code === 'not_found',
      );
    } finally {
      probe.close();
      store.close();
    }
  });

  test('data survives close and reopen, and close checkpoints the WAL away', () => {
    const dataDir = tempDir();
    const first = openStore(dataDir);
    const { run } = first.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'manual', at: 1000 });
    first.tokens.create('ci', 'viewer', 1000);
    first.close();
    first.close(); // idempotent
    assert.equal(statSync(`${first.file}-wal`, { throwIfNoEntry: false })?.size ?? 0, 0);

    const second = openStore(dataDir);
    try {
      assert.deepEqual(second.runs.get(run.id), run);
      assert.deepEqual(
        second.tokens.list().map((t) => t.name),
        ['ci'],
      );
    } finally {
      second.close();
    }
  });

  test('refuses a database written by a newer mlp, naming both versions', () => {
    const dataDir = tempDir();
    openStore(dataDir).close();
    const file = join(dataDir, 'mlp.db');
    const db = new Database(file);
    db.pragma(`user_version = ${latest + 1}`);
    db.close();
    expectUnavailable(
      () => openStore(dataDir),
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} was written by a newer mlp \\(schema v${latest + 1}, this mlp knows up to v${latest}\\): upgrade mlp or use another --data-dir$`,
      ),
    );
    assert.equal(userVersion(file), latest + 1);
  });

  test('a file that is not SQLite gives an error naming the file', () => {
    const file = join(tempDir(), 'mlp.db');
    writeFileSync(file, 'this is not a database, just some text that is long enough to fill a header\n'.repeat(20));
    expectUnavailable(() => openStoreAt(file), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not an mlp database`));
  });

  test('a SQLite database that is not mlp’s is refused, not migrated', () => {
    const file = join(tempDir(), 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE notes (body TEXT)');
    db.close();
    expectUnavailable(() => openStoreAt(file), /is a SQLite database but not an mlp one/);
    assert.deepEqual(tables(file), ['notes']);
  });
});

describe('migration 3: fractional weights', () => {
  test('upgrades a v2 database with data: rows, decisions and indexes kept, weights now take 12.5', () => {
    const file = join(tempDir(), 'v2.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    migrate(old, migrations.slice(0, 2));
    old.exec(`
      INSERT INTO runs (id, pipeline, trigger, status, created_at) VALUES ('r-1', 'forecast', 'manual', 'succeeded', 1);
      INSERT INTO model_versions (pipeline, group_name, version, run_id, artifact_uri, created_at) VALUES
        ('forecast', 'london', 1, 'r-1', 'file:///m/1', 2), ('forecast', 'london', 2, 'r-1', 'file:///m/2', 3);
      INSERT INTO rollouts (id, pipeline, run_id, groups_json, phase, candidate_weight, step_index, phase_started_at, state_json, created_at, updated_at, version)
        VALUES (7, 'forecast', 'r-1', '[{"group":"london","candidate":2,"current":1}]', 'shifting', 20, 1, 10, '{"stepStartedAt":10}', 4, 10, 5);
      INSERT INTO decisions (rollout_id, at, phase, rule, verdict, reason) VALUES (7, 10, 'shifting', 'step', 'advance', 'traffic 10% → 20%');
      INSERT INTO variants (id, pipeline, group_name, version, role, weight, backend, desired, state, port, created_at, updated_at) VALUES
        (1, 'forecast', 'london', 1, 'current', 80, 'local', 'live', 'live', 4001, 2, 10),
        (2, 'forecast', 'london', 2, 'candidate', 20, 'local', 'live', 'live', 4002, 4, 10);
    `);
    old.close();

    const store = openStoreAt(file);
    try {
      assert.equal(userVersion(file), latest);
      const r = store.rollouts.get(7)!;
      assert.deepEqual(
        [r.phase, r.candidateWeight, r.stepIndex, r.version, r.groups],
        ['shifting', 20, 1, 5, [{ group: 'london', candidate: 2, current: 1 }]],
      );
      assert.deepEqual(
        store.decisions.list(7).map((d) => d.reason),
        ['traffic 10% → 20%'],
      );
      assert.deepEqual(
        store.variants.live('forecast').map((v) => [v.version, v.role, v.weight, v.port]),
        [
          [1, 'current', 80, 4001],
          [2, 'candidate', 20, 4002],
        ],
      );

      store.rollouts.save({ ...r, candidateWeight: 12.5 }, { expectedVersion: 5 });
      store.variants.setWeight(1, 87.5);
      store.variants.setWeight(2, 12.5);
      assert.equal(store.rollouts.get(7)!.candidateWeight, 12.5);
      assert.deepEqual(
        store.variants.live('forecast').map((v) => v.weight),
        [87.5, 12.5],
      );
      // The indexes came back: one active rollout per pipeline, one live candidate per group.
      assert.throws(() => store.rollouts.create({ pipeline: 'forecast', runId: null, groups: [] }), /already has an active rollout|UNIQUE/);
      assert.throws(
        () => store.variants.create({ pipeline: 'forecast', group: 'london', version: 2, role: 'candidate', weight: 0, backend: 'local' }),
        /already has a live/,
      );
    } finally {
      store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      assert.equal(db.prepare('SELECT typeof(candidate_weight) FROM rollouts').pluck().get(), 'real');
      assert.match(
        db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'decisions'`).pluck().get() as string,
        /REFERENCES rollouts \(id\) ON DELETE CASCADE/,
      );
    } finally {
      db.close();
    }
  });
});

describe('migrate', () => {
  const first: Migration = { version: 1, name: 'first', up: (db) => db.exec('CREATE TABLE a (x INTEGER) STRICT') };
  const second: Migration = { version: 2, name: 'second', up: (db) => db.exec('CREATE TABLE b (y INTEGER) STRICT') };
  const broken: Migration = {
    version: 3,
    name: 'broken',
    up: (db) => {
      db.exec('CREATE TABLE c (z INTEGER) STRICT');
      db.exec('INSERT INTO nowhere VALUES (1)');
    },
  };

  test('a failing migration leaves the database at its old version, with none of the pending ones applied', () => {
    const file = join(tempDir(), 'm.db');
    const db = new Database(file);
    try {
      assert.deepEqual(migrate(db, [first]), { from: 0, to: 1 });
      assert.throws(
        () => migrate(db, [first, second, broken]),
        (err: unknown) =>
          err instanceof MlpError &&
          err.code === 'unavailable' &&
          /migration 3 \(broken\) failed: no such table: nowhere/.test(err.message),
      );
      assert.equal(db.pragma('user_version', { simple: true }), 1);
      assert.deepEqual(db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all(), ['a']);
      assert.deepEqual(migrate(db, [first, second]), { from: 1, to: 2 });
      assert.deepEqual(migrate(db, [first, second]), { from: 2, to: 2 });
    } finally {
      db.close();
    }
  });

  test('leaves foreign keys as it found them', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, [first]);
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    db.close();
  });

  test('refuses a migration list with gaps', () => {
    const db = new Database(':memory:');
    assert.throws(() => migrate(db, [first, broken]), /position 2 holds version 3/);
    db.close();
  });
});
