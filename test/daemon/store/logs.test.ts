import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LogLineInput } from '../../../daemon/store/logs.js';
import { freshStore } from './helpers.js';

const line = (at: number, text: string, pipeline = 'demand-forecast'): LogLineInput => ({
  at,
  pipeline,
  runId: 'r-1',
  step: 'train',
  group: 'berlin',
  stream: 'stdout',
  line: text,
});

describe('logs', () => {
  test('append stores a batch and returns it with increasing ids', () => {
    const store = freshStore();
    const stored = store.logs.append([
      line(1, 'epoch 1'),
      line(2, 'epoch 2'),
      { at: 3, pipeline: 'demand-forecast', stream: 'daemon', line: 'info: loaded' },
    ]);
    assert.equal(stored.length, 3);
    assert.ok(stored[0]!.id < stored[1]!.id && stored[1]!.id < stored[2]!.id);
    assert.deepEqual(stored[2], {
      id: stored[2]!.id,
      at: 3,
      pipeline: 'demand-forecast',
      runId: null,
      step: null,
      group: null,
      stream: 'daemon',
      line: 'info: loaded',
    });
    assert.deepEqual(store.logs.query({ pipeline: 'demand-forecast', limit: 10 }), stored);
    assert.deepEqual(store.logs.append([]), []);
  });

  test('query filters by pipeline, since, afterId and run, in id order', () => {
    const store = freshStore();
    const stored = store.logs.append([line(100, 'a'), line(200, 'b'), line(150, 'other', 'churn'), line(300, 'c'), line(400, 'd')]);
    const text = (q: Parameters<typeof store.logs.query>[0]) => store.logs.query(q).map((l) => l.line);
    assert.deepEqual(text({ pipeline: 'demand-forecast', limit: 100 }), ['a', 'b', 'c', 'd']);
    assert.deepEqual(text({ pipeline: 'demand-forecast', sinceMs: 200, limit: 100 }), ['b', 'c', 'd']);
    assert.deepEqual(text({ pipeline: 'demand-forecast', afterId: stored[1]!.id, limit: 100 }), ['c', 'd']);
    assert.deepEqual(text({ pipeline: 'demand-forecast', afterId: stored[1]!.id, limit: 1 }), ['c']);
    assert.deepEqual(text({ pipeline: 'demand-forecast', limit: 2, from: 'end' }), ['c', 'd']);
    assert.deepEqual(text({ pipeline: 'demand-forecast', runId: 'r-2', limit: 100 }), []);
    assert.deepEqual(text({ pipeline: 'churn', limit: 100 }), ['other']);
  });

  test('prune deletes lines older than the retention, and ids are never reused', () => {
    const store = freshStore();
    const day = 86_400_000;
    const now = 30 * day;
    store.logs.append([line(now - 20 * day, 'old'), line(now - 8 * day, 'older than a week'), line(now - day, 'recent')]);
    assert.equal(store.logs.prune({ olderThanMs: 7 * day, now }), 2);
    assert.deepEqual(
      store.logs.query({ pipeline: 'demand-forecast', limit: 10 }).map((l) => l.line),
      ['recent'],
    );
    const last = store.logs.query({ pipeline: 'demand-forecast', limit: 10 }).at(-1)!;
    store.logs.prune({ olderThanMs: 0, now: now + 1 });
    const [next] = store.logs.append([line(now + 2, 'after prune')]);
    assert.ok(next!.id > last.id);
  });
});
