/** Replay progress as status shows it: per group, current while replaying, gone after. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReplayProgress } from '../../../daemon/rollout/replay-progress.js';

describe('replay progress', () => {
  it('keeps the latest count of each group and republishes the pipeline on each report', () => {
    const changed: string[] = [];
    const progress = createReplayProgress({ onChanged: (pipeline) => changed.push(pipeline) });
    progress.report('forecast', 'berlin', 10, null);
    progress.report('forecast', 'amsterdam', 5, 200);
    progress.report('forecast', 'berlin', 120, 400);
    progress.report('churn', 'all', 1, 2);
    assert.deepEqual(progress.of('forecast'), [
      { group: 'berlin', done: 120, total: 400 },
      { group: 'amsterdam', done: 5, total: 200 },
    ]);
    assert.deepEqual(changed, ['forecast', 'forecast', 'forecast', 'churn']);
    assert.deepEqual(progress.of('pricing'), []);
  });

  it('forgets a pipeline once its rollout leaves the replay, and only then', () => {
    const progress = createReplayProgress({ onChanged: () => undefined });
    progress.report('forecast', 'berlin', 10, 20);
    progress.report('churn', 'all', 1, 2);
    progress.rolloutChanged({ pipeline: 'forecast', phase: 'replaying' });
    assert.equal(progress.of('forecast').length, 1, 'still replaying');
    progress.rolloutChanged({ pipeline: 'forecast', phase: 'shifting' });
    assert.deepEqual(progress.of('forecast'), []);
    assert.equal(progress.of('churn').length, 1, 'another pipeline keeps its progress');
  });
});
