/** A run's outcome decides whether what it trained is rolled out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../daemon/log.js';
import { rollOutWhatRunsTrain } from '../../../daemon/rollout/after-run.js';
import type { GroupResult, RunResult } from '../../../daemon/runs/runner.js';
import type { Run } from '../../../daemon/store/runs.js';

const run: Run = {
  id: 'r-01',
  pipeline: 'forecast',
  trigger: 'manual',
  scheduledFor: null,
  status: 'succeeded',
  reason: null,
  gitCommit: null,
  createdAt: 0,
  startedAt: 0,
  finishedAt: 1,
};

function group(name: string, status: GroupResult['status'], version: number | null): GroupResult {
  return {
    group: name,
    status,
    reason: status === 'succeeded' ? null : 'exit 1',
    version:
      version === null
        ? null
        : {
            pipeline: 'forecast',
            group: name,
            version,
            runId: run.id,
            gitCommit: null,
            artifactUri: 'file:///m',
            metrics: null,
            createdAt: 1,
          },
  };
}

/** A fake controller that records what it is asked to start, and refuses with `refusal` if given. */
function setUp(refusal?: Error) {
  const lines: string[] = [];
  const started: unknown[] = [];
  const onFinished = rollOutWhatRunsTrain({
    rollouts: {
      start: async (pipeline, runId, groups) => {
        started.push({ pipeline, runId, groups });
        if (refusal) throw refusal;
        return {} as never;
      },
    },
    log: createLogger({ write: (line) => lines.push(line) }),
  });
  return { onFinished, lines, started };
}

describe('rolling out what a run trained', () => {
  it('rolls out the version of every group of a run that succeeded', () => {
    const { onFinished, started } = setUp();
    const result: RunResult = {
      status: 'succeeded',
      reason: null,
      groups: [group('amsterdam', 'succeeded', 3), group('berlin', 'succeeded', 7)],
    };
    onFinished(run, result);
    assert.deepEqual(started, [
      {
        pipeline: 'forecast',
        runId: 'r-01',
        groups: [
          { group: 'amsterdam', version: 3 },
          { group: 'berlin', version: 7 },
        ],
      },
    ]);
  });

  it('rolls out nothing when a group failed, even though others trained', () => {
    const { onFinished, started } = setUp();
    onFinished(run, {
      status: 'failed',
      reason: 'berlin failed',
      groups: [group('amsterdam', 'succeeded', 3), group('berlin', 'failed', null)],
    });
    onFinished(run, { status: 'cancelled', reason: 'cancelled', groups: [group('amsterdam', 'succeeded', 3)] });
    assert.deepEqual(started, []);
  });

  it('rolls out nothing when the run produced no version', () => {
    const { onFinished, started } = setUp();
    onFinished(run, { status: 'succeeded', reason: null, groups: [group('amsterdam', 'succeeded', null)] });
    assert.deepEqual(started, []);
  });

  it('says why a rollout could not start, on the pipeline', async () => {
    const { onFinished, lines } = setUp(new Error('database is locked'));
    onFinished(run, { status: 'succeeded', reason: null, groups: [group('amsterdam', 'succeeded', 3)] });
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /error rollout forecast: cannot start: .*database is locked$/);
  });
});
