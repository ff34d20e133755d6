import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MlpError } from '../../../shared/errors.js';
import { freshStore } from './helpers.js';

const config = { pipeline: { name: 'demand-forecast', schedule: '0 2 * * 1' } };
const where = { dir: '/repo/forecast', file: '/repo/forecast/pipeline.yaml' };
const problem = { file: where.file, line: 3, col: 5, message: 'unknown key "schedul" (did you mean "schedule"?)' };

describe('pipelines', () => {
  test('a valid config round-trips and a reload of the same hash is not a change', () => {
    const store = freshStore();
    const first = store.pipelines.upsertValid({ name: 'demand-forecast', ...where, config, hash: 'h1', at: 100 });
    assert.equal(first.changed, true);
    assert.deepEqual(first.pipeline, {
      name: 'demand-forecast',
      ...where,
      config,
      hash: 'h1',
      loadedAt: 100,
      problems: null,
      problemsAt: null,
      removedAt: null,
    });
    const same = store.pipelines.upsertValid({ name: 'demand-forecast', ...where, config, hash: 'h1', at: 200 });
    assert.equal(same.changed, false);
    assert.equal(same.pipeline.loadedAt, 100);

    const edited = store.pipelines.upsertValid({ name: 'demand-forecast', ...where, config: { edited: true }, hash: 'h2', at: 300 });
    assert.equal(edited.changed, true);
    assert.equal(edited.pipeline.loadedAt, 300);
    assert.deepEqual(store.pipelines.get('demand-forecast')?.config, { edited: true });
  });

  test('an invalid edit keeps the last valid config; the next valid one clears the problems', () => {
    const store = freshStore();
    store.pipelines.upsertValid({ name: 'demand-forecast', ...where, config, hash: 'h1', at: 100 });
    const invalid = store.pipelines.markInvalid('demand-forecast', [problem], 150);
    assert.deepEqual(invalid.config, config);
    assert.equal(invalid.hash, 'h1');
    assert.deepEqual(invalid.problems, [problem]);
    assert.equal(invalid.problemsAt, 150);

    const fixed = store.pipelines.upsertValid({ name: 'demand-forecast', ...where, config, hash: 'h1', at: 200 });
    assert.equal(fixed.changed, false);
    assert.equal(fixed.pipeline.problems, null);
    assert.equal(fixed.pipeline.problemsAt, null);
  });

  test('a pipeline never valid cannot be marked invalid', () => {
    const store = freshStore();
    assert.throws(
      () => store.pipelines.markInvalid('ghost', [problem], 1),
      (err: unknown) => err instanceof MlpError && err.code === 'not_found',
    );
  });

  test('removal hides a pipeline from list but keeps it; a return counts as a change', () => {
    const store = freshStore();
    store.pipelines.upsertValid({ name: 'b-pipe', ...where, config, hash: 'h', at: 1 });
    store.pipelines.upsertValid({ name: 'a-pipe', ...where, config, hash: 'h', at: 1 });
    store.pipelines.markRemoved('b-pipe', 10);
    store.pipelines.markRemoved('b-pipe', 20);
    assert.deepEqual(
      store.pipelines.list().map((p) => p.name),
      ['a-pipe'],
    );
    assert.deepEqual(
      store.pipelines.list({ includeRemoved: true }).map((p) => [p.name, p.removedAt]),
      [
        ['a-pipe', null],
        ['b-pipe', 10],
      ],
    );
    const back = store.pipelines.upsertValid({ name: 'b-pipe', ...where, config, hash: 'h', at: 30 });
    assert.equal(back.changed, true);
    assert.equal(back.pipeline.removedAt, null);
    assert.equal(back.pipeline.loadedAt, 30);
    assert.throws(() => store.pipelines.markRemoved('nobody', 1), /not registered/);
  });
});
