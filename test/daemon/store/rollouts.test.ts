import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MlpError } from '../../../shared/errors.js';
import type { Decision } from '../../../daemon/rollout/decision.js';
import { freshStore, withVersions } from './helpers.js';

const isCode = (code: string) => (err: unknown) => err instanceof MlpError && err.code === code;

describe('model versions', () => {
  test('versions count per (pipeline, group) from 1 and round-trip', () => {
    const store = freshStore();
    const { run } = store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'manual', at: 1 });
    assert.equal(store.modelVersions.nextVersion('demand-forecast', 'berlin'), 1);
    const v1 = store.modelVersions.create({
      pipeline: 'demand-forecast',
      group: 'berlin',
      runId: run.id,
      gitCommit: 'abc123',
      artifactUri: (v) => `file:///data/artifacts/demand-forecast/berlin/v${v}`,
      metrics: { mape: 0.12 },
      at: 10,
    });
    assert.deepEqual(v1, {
      pipeline: 'demand-forecast',
      group: 'berlin',
      version: 1,
      runId: run.id,
      gitCommit: 'abc123',
      artifactUri: 'file:///data/artifacts/demand-forecast/berlin/v1',
      metrics: { mape: 0.12 },
      createdAt: 10,
    });
    const v2 = store.modelVersions.create({ pipeline: 'demand-forecast', group: 'berlin', artifactUri: 's3://bucket/mlp/x', at: 11 });
    const paris1 = store.modelVersions.create({ pipeline: 'demand-forecast', group: 'paris', artifactUri: 's3://bucket/mlp/y', at: 12 });
    assert.equal(v2.version, 2);
    assert.equal(v2.metrics, null);
    assert.equal(paris1.version, 1);
    assert.deepEqual(store.modelVersions.get('demand-forecast', 'berlin', 1), v1);
    assert.deepEqual(store.modelVersions.latest('demand-forecast', 'berlin'), v2);
    assert.equal(store.modelVersions.latest('demand-forecast', 'tokyo'), undefined);
    assert.deepEqual(
      store.modelVersions.list('demand-forecast').map((v) => `${v.group}/v${v.version}`),
      ['berlin/v1', 'berlin/v2', 'paris/v1'],
    );
    assert.deepEqual(
      store.modelVersions.list('demand-forecast', 'berlin').map((v) => v.version),
      [1, 2],
    );
    assert.equal(store.modelVersions.nextVersion('demand-forecast', 'berlin'), 3);
  });

  test('a version must name a run that exists', () => {
    const store = freshStore();
    assert.throws(() => store.modelVersions.create({ pipeline: 'p', group: 'g', runId: 'r-ghost', artifactUri: 'x' }), isCode('not_found'));
    assert.equal(store.modelVersions.nextVersion('p', 'g'), 1);
  });
});

describe('rollouts', () => {
  test('create round-trips with defaults; active, latest and listActive find it', () => {
    const store = freshStore();
    withVersions(store, 'demand-forecast', 'berlin', 2);
    const r = store.rollouts.create({ pipeline: 'demand-forecast', groups: [{ group: 'berlin', candidate: 2, current: 1 }], at: 1000 });
    assert.deepEqual(r, {
      id: r.id,
      pipeline: 'demand-forecast',
      runId: null,
      groups: [{ group: 'berlin', candidate: 2, current: 1 }],
      phase: 'deploying',
      candidateWeight: 0,
      stepIndex: 0,
      phaseStartedAt: 1000,
      pausedFrom: null,
      state: {},
      reason: null,
      createdAt: 1000,
      updatedAt: 1000,
      finishedAt: null,
      version: 1,
    });
    assert.deepEqual(store.rollouts.get(r.id), r);
    assert.deepEqual(store.rollouts.active('demand-forecast'), r);
    assert.deepEqual(store.rollouts.latest('demand-forecast'), r);
    assert.deepEqual(store.rollouts.listActive(), [r]);
    assert.equal(store.rollouts.active('churn'), undefined);
  });

  test('save bumps the version; a stale writer gets a conflict and changes nothing', () => {
    const store = freshStore();
    withVersions(store, 'p', 'g', 2);
    const read = store.rollouts.create({ pipeline: 'p', groups: [{ group: 'g', candidate: 2, current: 1 }], at: 0 });
    const shifted = store.rollouts.save(
      {
        ...read,
        phase: 'shifting',
        candidateWeight: 10,
        stepIndex: 1,
        phaseStartedAt: 50,
        state: { stepStartedAt: 50, gates: { replay: { passed: true, summary: '0 of 500 requests regress' } } },
      },
      { expectedVersion: read.version, at: 50 },
    );
    assert.deepEqual(
      [shifted.version, shifted.phase, shifted.candidateWeight, shifted.stepIndex, shifted.updatedAt, shifted.state],
      [2, 'shifting', 10, 1, 50, { stepStartedAt: 50, gates: { replay: { passed: true, summary: '0 of 500 requests regress' } } }],
    );
    assert.throws(
      () => store.rollouts.save({ ...read, phase: 'paused', pausedFrom: 'deploying' }, { expectedVersion: read.version, at: 60 }),
      (err: unknown) => isCode('conflict')(err) && /changed by another writer \(version 2, expected 1\)/.test((err as Error).message),
    );
    assert.deepEqual(store.rollouts.get(read.id), shifted);
    assert.throws(() => store.rollouts.save({ ...read, id: 999 }, { expectedVersion: 1 }), isCode('not_found'));
  });

  test('pause remembers the phase to resume; a terminal phase stamps finishedAt and frees the pipeline', () => {
    const store = freshStore();
    withVersions(store, 'p', 'g', 3);
    let r = store.rollouts.create({ pipeline: 'p', groups: [{ group: 'g', candidate: 2, current: 1 }], phase: 'shifting', at: 0 });
    r = store.rollouts.save(
      { ...r, phase: 'paused', pausedFrom: 'shifting', reason: 'paused by alice' },
      { expectedVersion: r.version, at: 5 },
    );
    assert.deepEqual([r.phase, r.pausedFrom, r.reason], ['paused', 'shifting', 'paused by alice']);

    assert.throws(() => store.rollouts.create({ pipeline: 'p', groups: [{ group: 'g', candidate: 3, current: 1 }] }), isCode('conflict'));

    r = store.rollouts.save({ ...r, phase: 'rolled_back', pausedFrom: null, candidateWeight: 0 }, { expectedVersion: r.version, at: 9 });
    assert.equal(r.finishedAt, 9);
    assert.equal(store.rollouts.active('p'), undefined);
    assert.deepEqual(store.rollouts.listActive(), []);

    const next = store.rollouts.create({ pipeline: 'p', groups: [{ group: 'g', candidate: 3, current: 1 }], at: 10 });
    assert.deepEqual(store.rollouts.latest('p')?.id, next.id);
    const promoted = store.rollouts.save({ ...next, phase: 'promoted', candidateWeight: 100 }, { expectedVersion: next.version, at: 20 });
    assert.equal(promoted.finishedAt, 20);
  });

  test('a stored state mlp cannot read is refused with the rollout and the field, not passed on untyped', () => {
    const store = freshStore();
    withVersions(store, 'p', 'g', 2);
    const r = store.rollouts.create({ pipeline: 'p', groups: [{ group: 'g', candidate: 2, current: 1 }], at: 0 });
    const db = (store.rollouts as unknown as { selectOne: { database: { prepare(sql: string): { run(...a: unknown[]): unknown } } } })
      .selectOne.database;
    db.prepare('UPDATE rollouts SET state_json = ? WHERE id = ?').run(
      JSON.stringify({ ending: { phase: 'promoting', reason: 'x' } }),
      r.id,
    );
    assert.throws(() => store.rollouts.get(r.id), /rollout #1 has a stored state mlp cannot read \(ending\.phase: .*\)/);
  });

  test('a rollout of a run that does not exist is refused', () => {
    const store = freshStore();
    assert.throws(
      () => store.rollouts.create({ pipeline: 'p', runId: 'r-ghost', groups: [{ group: 'g', candidate: 1, current: null }] }),
      isCode('not_found'),
    );
    const first = store.rollouts.create({ pipeline: 'p', groups: [{ group: 'g', candidate: 1, current: null }] });
    assert.equal(first.groups[0]!.current, null);
  });
});

describe('decisions', () => {
  test('list returns decision records, newest last', () => {
    const store = freshStore();
    withVersions(store, 'p', 'g', 2);
    const r = store.rollouts.create({ pipeline: 'p', groups: [{ group: 'g', candidate: 2, current: 1 }] });
    const hold: Decision = {
      at: 100,
      phase: 'shifting',
      rule: 'error_rate',
      observed: { requests: 12 },
      threshold: { requests: 50 },
      sample: null,
      verdict: 'hold',
      reason: 'only 12 candidate requests; need 50 for a verdict',
    };
    const rollback: Decision = {
      at: 200,
      phase: 'shifting',
      rule: 'error_rate',
      observed: 0.08,
      threshold: 0.05,
      sample: { requests: 400, errors: 32 },
      verdict: 'rollback',
      reason: 'candidate error rate 8% is above 5%',
    };
    assert.deepEqual(store.decisions.record(r.id, hold), hold);
    store.decisions.record(r.id, rollback);
    assert.deepEqual(store.decisions.list(r.id), [hold, rollback]);
    assert.deepEqual(store.decisions.list(r.id + 1), []);
    assert.throws(() => store.decisions.record(r.id + 1, hold), isCode('not_found'));
  });

  test('a store transaction is all or nothing', () => {
    const store = freshStore();
    withVersions(store, 'p', 'g', 1);
    const r = store.rollouts.create({ pipeline: 'p', groups: [{ group: 'g', candidate: 1, current: null }] });
    const info: Decision = {
      at: 1,
      phase: 'deploying',
      rule: 'first_version',
      observed: null,
      threshold: null,
      sample: null,
      verdict: 'promote',
      reason: 'no current model',
    };
    assert.throws(() =>
      store.transaction(() => {
        store.decisions.record(r.id, info);
        store.rollouts.save({ ...r, phase: 'promoted' }, { expectedVersion: r.version + 1 });
      }),
    );
    assert.deepEqual(store.decisions.list(r.id), []);
    assert.equal(store.transaction(() => store.decisions.record(r.id, info)).rule, 'first_version');
  });
});
