import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MlpError } from '../../../shared/errors.js';
import { freshStore } from './helpers.js';

const monday2am = Date.UTC(2025, 0, 6, 2, 0);

describe('runs', () => {
  test('enqueue round-trips a queued run with a sortable r- id', () => {
    const store = freshStore();
    const { run, created } = store.runs.enqueue({
      pipeline: 'demand-forecast',
      trigger: 'manual',
      reason: 'mlp deploy',
      gitCommit: 'abc123',
      at: 500,
    });
    assert.equal(created, true);
    assert.match(run.id, /^r-[0-9a-z]{26}$/);
    assert.deepEqual(run, {
      id: run.id,
      pipeline: 'demand-forecast',
      trigger: 'manual',
      scheduledFor: null,
      status: 'queued',
      reason: 'mlp deploy',
      gitCommit: 'abc123',
      createdAt: 500,
      startedAt: null,
      finishedAt: null,
    });
    assert.deepEqual(store.runs.get(run.id), run);
    const later = store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'manual', at: 501 }).run;
    assert.ok(later.id > run.id, 'ids sort by creation time');
  });

  test('a double cron tick for the same fire time enqueues once', () => {
    const store = freshStore();
    const first = store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'schedule', scheduledFor: monday2am, at: monday2am });
    const second = store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'schedule', scheduledFor: monday2am, at: monday2am + 5 });
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.deepEqual(second.run, first.run);
    // Other pipelines, other fire times, and unscheduled runs are not affected.
    assert.equal(store.runs.enqueue({ pipeline: 'churn', trigger: 'schedule', scheduledFor: monday2am }).created, true);
    assert.equal(
      store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'catch_up', scheduledFor: monday2am - 7 * 86_400_000 }).created,
      true,
    );
    assert.equal(store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'manual' }).created, true);
    assert.equal(store.runs.enqueue({ pipeline: 'demand-forecast', trigger: 'manual' }).created, true);
    assert.equal(store.runs.latestScheduledFor('demand-forecast'), monday2am);
    assert.equal(store.runs.latestScheduledFor('nothing-yet'), null);
  });

  test('status moves stamp start and finish; a finished run is final', () => {
    const store = freshStore();
    const { run } = store.runs.enqueue({ pipeline: 'p', trigger: 'change', at: 1 });
    const running = store.runs.setStatus(run.id, 'running', { at: 10, gitCommit: 'def456' });
    assert.equal(running.startedAt, 10);
    assert.equal(running.gitCommit, 'def456');
    assert.deepEqual(
      store.runs.active('p').map((r) => r.id),
      [run.id],
    );
    const failed = store.runs.setStatus(run.id, 'failed', { at: 20, reason: 'step train exited 1' });
    assert.deepEqual([failed.status, failed.startedAt, failed.finishedAt, failed.reason], ['failed', 10, 20, 'step train exited 1']);
    assert.deepEqual(store.runs.active('p'), []);
    assert.throws(
      () => store.runs.setStatus(run.id, 'running'),
      (err: unknown) => err instanceof MlpError && err.code === 'conflict',
    );
    assert.throws(
      () => store.runs.setStatus('r-nope', 'running'),
      (err: unknown) => err instanceof MlpError && err.code === 'not_found',
    );
  });

  test('listRecent is newest first and bounded; active spans pipelines when none is named', () => {
    const store = freshStore();
    const ids = [1, 2, 3].map((at) => store.runs.enqueue({ pipeline: 'p', trigger: 'manual', at }).run.id);
    const other = store.runs.enqueue({ pipeline: 'q', trigger: 'manual', at: 4 }).run.id;
    assert.deepEqual(
      store.runs.listRecent('p', 2).map((r) => r.id),
      [ids[2], ids[1]],
    );
    store.runs.setStatus(ids[0]!, 'skipped', { reason: 'a run was already active' });
    assert.deepEqual(
      store.runs.active().map((r) => r.id),
      [ids[1], ids[2], other],
    );
  });

  test('latestSucceeded is the newest run of the pipeline that succeeded, whatever came after it', () => {
    const store = freshStore();
    assert.equal(store.runs.latestSucceeded('p'), undefined);
    const finish = (at: number, status: 'succeeded' | 'failed', pipeline = 'p') => {
      const { run } = store.runs.enqueue({ pipeline, trigger: 'manual', at });
      store.runs.setStatus(run.id, 'running', { at });
      return store.runs.setStatus(run.id, status, { at: at + 1 }).id;
    };
    finish(1, 'succeeded');
    const newest = finish(2, 'succeeded');
    finish(3, 'failed');
    finish(4, 'succeeded', 'q');
    store.runs.enqueue({ pipeline: 'p', trigger: 'manual', at: 5 });
    assert.equal(store.runs.latestSucceeded('p')?.id, newest);
  });
});

describe('step runs', () => {
  test('start, finish and list by run', () => {
    const store = freshStore();
    const { run } = store.runs.enqueue({ pipeline: 'p', trigger: 'manual', at: 1 });
    const pre = store.stepRuns.start({ runId: run.id, step: 'preprocess', group: 'berlin', executor: 'docker', at: 2 });
    const train = store.stepRuns.start({ runId: run.id, step: 'train', group: 'berlin', executor: 'docker', at: 3 });
    assert.deepEqual(pre, {
      id: pre.id,
      runId: run.id,
      step: 'preprocess',
      group: 'berlin',
      executor: 'docker',
      status: 'running',
      exitCode: null,
      reason: null,
      startedAt: 2,
      finishedAt: null,
    });
    const done = store.stepRuns.finish(pre.id, { status: 'succeeded', exitCode: 0, at: 5 });
    assert.deepEqual([done.status, done.exitCode, done.finishedAt], ['succeeded', 0, 5]);
    store.stepRuns.finish(train.id, { status: 'failed', exitCode: 137, reason: 'timed out after 4h', at: 9 });
    assert.throws(
      () => store.stepRuns.finish(train.id, { status: 'succeeded' }),
      (err: unknown) => err instanceof MlpError && err.code === 'conflict',
    );
    assert.deepEqual(
      store.stepRuns.listByRun(run.id).map((s) => [s.step, s.status, s.exitCode]),
      [
        ['preprocess', 'succeeded', 0],
        ['train', 'failed', 137],
      ],
    );
  });
});
