/** What a change tells people, decided from the change alone (daemon/notify/events.ts, retry.ts). No I/O. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rolloutNotification, runFailedNotification } from '../../../daemon/notify/events.js';
import { classifyAnswer, nextAttemptAt, retryPolicy } from '../../../daemon/notify/retry.js';
import type { Decision } from '../../../daemon/rollout/decision.js';
import type { Rollout } from '../../../daemon/rollout/rollout.js';
import type { Run } from '../../../daemon/store/runs.js';
import type { ReplayGateReport } from '../../../shared/reports/replay.js';
import { rolloutOf } from '../../helpers/rollouts.js';

function rollout(patch: Partial<Rollout> = {}): Rollout {
  return rolloutOf({ id: 7, pipeline: 'shop', groups: [{ group: 'london', candidate: 3, current: 2 }], phase: 'replaying', ...patch });
}

const decision = (patch: Partial<Decision>): Decision => ({
  at: 1,
  phase: 'replaying',
  rule: 'replay',
  observed: null,
  threshold: null,
  sample: null,
  verdict: 'advance',
  reason: '',
  ...patch,
});
const AT = Date.UTC(2026, 11, 2, 2, 0, 0);

const regression = (x: number) => ({
  inferenceId: null,
  at: 0,
  request: { contentType: 'application/json', body: `{"x":${x}}` },
  capturedStatus: 200,
  current: { status: 200, body: `{"y":${2 * x}}`, latencyMs: 1 },
  candidate: { status: 500, body: '{"error":"boom"}', latencyMs: 1 },
  retry: { current: null, candidate: { status: 500, body: '{"error":"boom"}', latencyMs: 1 } },
});

describe('rollout notifications', () => {
  it('a rollout blocked by replay tells the failing requests: how many, which, what the candidate answered', () => {
    const block = decision({
      verdict: 'block',
      reason: '4 of 200 requests that worked on v2 fail on v3 (first: HTTP 500 {"error":"boom"})',
      observed: 4,
      threshold: 0,
    });
    // Only what a notification reads of a replay report: its regressions.
    const report = { london: { regressions: { count: 4, samples: [7, 14, 21, 28].map(regression) } } } as unknown as ReplayGateReport;
    const before = rollout({
      phase: 'replaying',
      state: { gates: { replay: { passed: false, summary: block.reason, report } }, ending: { phase: 'blocked', reason: block.reason } },
    });
    const after = { ...before, phase: 'blocked' as const };
    const n = rolloutNotification(before, after, [decision({ verdict: 'advance', rule: 'integration_tests' }), block], AT)!;
    assert.equal(n.event, 'blocked');
    assert.equal(n.phase, 'blocked');
    assert.equal(n.version, 'v3');
    assert.deepEqual(n.groups, ['london']);
    assert.equal(n.rollout, 7);
    assert.deepEqual(n.decision, block);
    assert.equal(n.at, '2026-12-02T02:00:00.000Z');
    assert.equal(
      n.reason,
      '4 of 200 requests that worked on v2 fail on v3 (first: HTTP 500 {"error":"boom"})\nfailing requests:\n' +
        '- {"x":7} → HTTP 500 {"error":"boom"} (current: HTTP 200)\n- {"x":14} → HTTP 500 {"error":"boom"} (current: HTTP 200)\n- {"x":21} → HTTP 500 {"error":"boom"} (current: HTTP 200)',
    );
    assert.equal(
      n.text,
      'mlp: shop v3 was blocked by replay (v2 keeps serving): 4 of 200 requests that worked on v2 fail on v3 (first: HTTP 500 {"error":"boom"})',
    );
  });

  it('a rollback names the error rate, threshold and sample of the decision behind it', () => {
    const rb = decision({
      phase: 'shifting',
      rule: 'error_rate',
      verdict: 'rollback',
      observed: 0.4,
      threshold: 0.1,
      sample: { group: 'london', window: '60s', requests: 50, errors: 20 },
      reason: 'error rate 40% on london (20 of the 50 requests of the 60s window) is above 10%: rolling back',
    });
    const n = rolloutNotification(
      rollout({ phase: 'rolling_back' }),
      rollout({ phase: 'rolled_back' }),
      [rb, decision({ verdict: 'advance' })],
      AT,
    )!;
    assert.equal(n.event, 'rolled_back');
    assert.deepEqual(n.decision, rb, 'the decision that caused it, not merely the last one');
    assert.equal(n.reason, rb.reason);
    assert.equal(
      n.text,
      'mlp: shop v3 was rolled back (v2 serves all traffic): error rate 40% on london (20 of the 50 requests of the 60s window) is above 10%: rolling back',
    );
  });

  it('tells promoted and paused, and nothing for transitions nobody needs to hear about', () => {
    const promoted = rolloutNotification(
      rollout({ phase: 'shifting' }),
      rollout({ phase: 'promoted', candidateWeight: 100 }),
      [decision({ verdict: 'promote', reason: 'the shift reached 100%' })],
      AT,
    )!;
    assert.equal(promoted.text, 'mlp: shop v3 is live on all traffic: the shift reached 100%');
    const paused = rolloutNotification(
      rollout({ phase: 'shifting', candidateWeight: 25 }),
      rollout({ phase: 'paused', pausedFrom: 'shifting', candidateWeight: 25 }),
      [decision({ verdict: 'hold', rule: 'manual', reason: 'paused by alice at 25% traffic' })],
      AT,
    )!;
    assert.equal(paused.text, 'mlp: the rollout of shop v3 is paused at 25%: paused by alice at 25% traffic');
    assert.equal(rolloutNotification(rollout({ phase: 'replaying' }), rollout({ phase: 'shifting' }), [], AT), undefined);
    assert.equal(
      rolloutNotification(rollout({ phase: 'blocked' }), rollout({ phase: 'blocked' }), [], AT),
      undefined,
      'only on the transition',
    );
    const first = rolloutNotification(
      rollout({ phase: 'integration_testing', groups: [{ group: 'london', candidate: 1, current: null }] }),
      rollout({ phase: 'blocked', groups: [{ group: 'london', candidate: 1, current: null }] }),
      [decision({ phase: 'integration_testing', rule: 'integration_tests', verdict: 'block', reason: 'AssertionError' })],
      AT,
    )!;
    assert.equal(first.text, 'mlp: shop v1 was blocked by the integration tests: AssertionError');
    const failed = rolloutNotification(
      rollout({ phase: 'shifting' }),
      rollout({ phase: 'failed' }),
      [decision({ rule: 'machinery', verdict: 'fail', reason: 'set_weight failed: EACCES' })],
      AT,
    )!;
    assert.equal(failed.text, 'mlp: the rollout of shop v3 failed: set_weight failed: EACCES');
  });
});

describe('run_failed', () => {
  const run: Run = {
    id: 'r-1',
    pipeline: 'shop',
    trigger: 'schedule',
    scheduledFor: null,
    status: 'failed',
    reason: 'x',
    gitCommit: null,
    createdAt: 0,
    startedAt: 0,
    finishedAt: 1,
  };
  it('names the run, the step, the group and the last lines of its output', () => {
    const n = runFailedNotification(
      run,
      [
        { group: 'london', step: 'train', reason: 'exit code 1: ValueError: no rows', tail: ['loading', 'ValueError: no rows'] },
        { group: 'paris', step: 'train', reason: 'exit code 1', tail: [] },
      ],
      AT,
    );
    assert.equal(n.event, 'run_failed');
    assert.deepEqual(n.groups, ['london', 'paris']);
    assert.equal(n.rollout, null);
    assert.equal(n.decision, null);
    assert.equal(
      n.text,
      'mlp: shop run r-1 (schedule) failed at step train of london (and 1 more group): exit code 1: ValueError: no rows',
    );
    assert.equal(n.reason, 'london/train: exit code 1: ValueError: no rows\nloading\nValueError: no rows\n\nparis/train: exit code 1');
    assert.equal(n.run?.failures.length, 2);
  });
});

describe('retries', () => {
  it('retries network errors, 408, 429 and 5xx; any other answer is final', () => {
    assert.deepEqual([200, 204, 301, 400, 404, 408, 429, 500, 503].map(classifyAnswer), [
      'delivered',
      'delivered',
      'final',
      'final',
      'final',
      'retry',
      'retry',
      'retry',
      'retry',
    ]);
  });

  it('backs off 1, 2, 4 ... 60 s and gives up 10 minutes after the event, the last attempt on the deadline', () => {
    const p = retryPolicy();
    assert.equal(nextAttemptAt(p, 1, 0, 0), 1_000);
    assert.equal(nextAttemptAt(p, 3, 0, 10_000), 14_000);
    assert.equal(nextAttemptAt(p, 20, 0, 100_000), 160_000);
    assert.equal(nextAttemptAt(p, 20, 0, 590_000), 600_000);
    assert.equal(nextAttemptAt(p, 21, 0, 600_000), null);
    const fast = retryPolicy(60);
    assert.deepEqual([fast.delaysMs[0], fast.giveUpAfterMs], [17, 10_000], '--time-scale 60');
  });
});
