/** What a rollout says beyond its phase, from states the machine itself produces. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rolloutMessageOf } from '../../../daemon/rollout/display.js';
import { step, type RolloutPolicy } from '../../../daemon/rollout/machine.js';
import type { Rollout } from '../../../daemon/rollout/rollout.js';

const policy: RolloutPolicy = {
  strategy: 'gradual',
  initialTraffic: 0,
  stepPercent: 50,
  stepIntervalMs: 1000,
  errorRateAbove: 0.05,
  minRequests: 50,
  latencyP99AboveMs: null,
};
const shifting: Rollout = {
  id: 1,
  pipeline: 'p',
  runId: null,
  groups: [{ group: 'g', candidate: 2, current: 1 }],
  phase: 'shifting',
  candidateWeight: 50,
  stepIndex: 0,
  phaseStartedAt: 0,
  pausedFrom: null,
  state: { stepStartedAt: 0 },
  reason: null,
  createdAt: 0,
  updatedAt: 0,
  finishedAt: null,
  version: 1,
};

describe("the message beside a rollout's phase", () => {
  it('says a rollout at 100% is promoting, though its phase is still shifting, and says nothing once it is promoted', () => {
    const last = step(shifting, { type: 'tick' }, 1000, policy).next;
    assert.deepEqual([last.phase, last.candidateWeight], ['shifting', 100]);
    assert.equal(
      rolloutMessageOf(last),
      'promoting: the candidates take all traffic and become current, the versions before them drain and stop (promoted after the gradual shift)',
    );
    const done = step(last, { type: 'promoted' }, 1100, policy).next;
    assert.equal(rolloutMessageOf(done), null);
  });

  it('says a rollout whose gate failed is blocking while its candidates stop, and one whose platform failed is failing', () => {
    const gating: Rollout = { ...shifting, phase: 'checking_data', candidateWeight: 0, state: {} };
    const blocking = step(
      gating,
      { type: 'gate_done', gate: 'data_checks', outcome: { passed: false, summary: '2 of 9 expectations failed' } },
      10,
      policy,
    ).next;
    assert.equal(blocking.phase, 'checking_data');
    assert.equal(
      rolloutMessageOf(blocking),
      'blocking: the candidates, which got no live traffic, are stopped (2 of 9 expectations failed)',
    );
    const failing = step(shifting, { type: 'machinery_failed', reason: 'set_weight failed: AccessDenied' }, 10, policy).next;
    assert.equal(rolloutMessageOf(failing), 'failing: the candidates get no traffic, drain and stop (set_weight failed: AccessDenied)');
  });

  it("says the step's clock stands still while a candidate is down or the daemon waits for them after a restart", () => {
    assert.equal(rolloutMessageOf(shifting), null);
    const down = step(shifting, { type: 'candidates_down', reason: 'v2 of p/g is not live' }, 10, policy).next;
    assert.equal(rolloutMessageOf(down), "a candidate is not live: the step's clock stands still until it answers /ping again");
    const restarted = step(shifting, { type: 'restarted' }, 10, policy).next;
    assert.equal(rolloutMessageOf(restarted), 'the daemon restarted: nothing is judged until the candidates answer /ping again');
  });
});
