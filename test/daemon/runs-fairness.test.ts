/** Which queued runs start next: round robin by pipeline, one run per pipeline, each place within its own limit. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runLimitsOf, runsToStart, startOrder, type QueuedRun } from '../../daemon/runs/fairness.js';

const run = (id: string, pipeline: string, createdAt: number, place: 'here' | 'cloud' = 'here'): QueuedRun => ({
  id,
  pipeline,
  createdAt,
  place,
});
const ids = (runs: readonly QueuedRun[]) => runs.map((r) => r.id);

describe('run queue order', () => {
  it('serves pipelines round robin, so one with many queued runs does not keep the others waiting', () => {
    const queued = [run('a1', 'a', 1), run('a2', 'a', 2), run('a3', 'a', 3), run('b1', 'b', 4), run('c1', 'c', 5), run('b2', 'b', 6)];
    assert.deepEqual(ids(startOrder(queued, () => undefined)), ['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });

  it('puts the pipeline that started a run least recently first', () => {
    const queued = [run('a2', 'a', 1), run('b1', 'b', 2), run('c1', 'c', 3)];
    const last = new Map([
      ['a', 10],
      ['b', 5],
    ]);
    // c never started one: first; then b (5) before a (10), though a's run is the oldest.
    assert.deepEqual(ids(startOrder(queued, (p) => last.get(p))), ['c1', 'b1', 'a2']);
  });

  it('a burst of schedules: every pipeline gets its turn, none twice before all once', () => {
    const queued = [];
    for (let p = 0; p < 200; p++) for (let k = 0; k < 3; k++) queued.push(run(`p${p}-${k}`, `p${p}`, k * 1000 + p));
    const order = startOrder(queued, () => undefined);
    const firstRound = new Set(order.slice(0, 200).map((r) => r.pipeline));
    assert.equal(firstRound.size, 200);
  });

  it('starts one run per pipeline, within the free slots of each place', () => {
    const order = [
      run('a1', 'a', 1),
      run('a2', 'a', 2),
      run('b1', 'b', 3),
      run('s1', 's', 4, 'cloud'),
      run('c1', 'c', 5),
      run('t1', 't', 6, 'cloud'),
      run('u1', 'u', 7, 'cloud'),
    ];
    const running = [{ pipeline: 'x', place: 'here' as const }];
    // 2 here (1 taken by x), 2 on the cloud: a1 here, a2 waits for a, b1 would be a third here.
    assert.deepEqual(ids(runsToStart(order, running, { here: 2, cloud: 2 })), ['a1', 's1', 't1']);
    // A pipeline already running starts nothing more.
    assert.deepEqual(ids(runsToStart(order, [{ pipeline: 'a', place: 'here' }], { here: 5, cloud: 0 })), ['b1', 'c1']);
  });

  it("takes the limits from mlp.yaml's runs; without it, one run here per core (at least 2) and 10 on the cloud", () => {
    assert.deepEqual(runLimitsOf(undefined, 8), { here: 8, cloud: 10 });
    assert.deepEqual(runLimitsOf(undefined, 1), { here: 2, cloud: 10 });
    assert.deepEqual(runLimitsOf({ max_parallel: 3, max_parallel_cloud: 10 }, 8), { here: 3, cloud: 10 });
    assert.deepEqual(runLimitsOf({ max_parallel_cloud: 40 }, 8), { here: 8, cloud: 40 });
  });
});
