/** The rollout state machine and the server budget: a candidate that does not fit waits for room, says so once, then blocks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { step, type RolloutEvent, type RolloutPolicy } from '../../../daemon/rollout/machine.js';
import type { Rollout } from '../../../daemon/rollout/rollout.js';
import { rolloutOf } from '../../helpers/rollouts.js';

const policy: RolloutPolicy = {
  strategy: 'gradual',
  initialTraffic: 0,
  stepPercent: 25,
  stepIntervalMs: 1000,
  errorRateAbove: 0.05,
  minRequests: 50,
  latencyP99AboveMs: null,
  serverBudgetWaitMs: 60_000,
  serverBudgetRetryMs: 5_000,
};
const deploying: Rollout = rolloutOf();
const refused: RolloutEvent = {
  type: 'over_budget',
  reason: 'v2 of p/london needs a model server, and 10 of serving.max_servers 10 run',
  servers: 10,
  max: 10,
};

describe('rollout and the server budget', () => {
  it('waits for room with one decision, tries again every few seconds, and goes on once the candidates start', () => {
    const first = step(deploying, refused, 1_000, policy);
    assert.equal(first.next.phase, 'deploying');
    assert.deepEqual(first.next.state.awaitingBudget, { since: 1_000 });
    assert.deepEqual(
      first.decisions.map((d) => [d.rule, d.verdict, d.observed, d.threshold]),
      [['server_budget', 'wait', 10, 10]],
    );
    assert.match(first.decisions[0]!.reason, /10 of serving.max_servers 10 run: waiting for room \(at most 60 s/);
    assert.match(first.next.reason!, /waiting for room/);
    assert.equal(first.wakeAt, 6_000);

    const tick = step(first.next, { type: 'tick' }, 6_000, policy);
    assert.deepEqual(tick.effects, [{ type: 'start_candidates' }]);
    const again = step(first.next, refused, 6_010, policy);
    assert.deepEqual(again.decisions, [], 'the wait is said once');
    assert.equal(again.next, first.next, 'nothing to store');
    assert.equal(again.wakeAt, 11_010);

    const live = step(first.next, { type: 'candidates_live' }, 12_000, policy);
    assert.equal(live.next.phase, 'checking_data');
    assert.equal(live.next.reason, null);
    assert.equal(live.next.state.awaitingBudget, undefined);
  });

  it('blocks once it has waited serving.budget_wait_minutes, retiring the candidates it did start', () => {
    const waiting = step(deploying, refused, 1_000, policy).next;
    const blocked = step(waiting, refused, 61_000, policy);
    assert.deepEqual(
      blocked.decisions.map((d) => [d.rule, d.verdict]),
      [['server_budget', 'block']],
    );
    assert.match(blocked.decisions[0]!.reason, /no room after waiting 60 s.*raise serving.max_servers or retire models/);
    assert.deepEqual(blocked.effects, [{ type: 'retire_candidates' }]);
    assert.deepEqual(blocked.next.state.ending?.phase, 'blocked');
  });

  it('keeps waiting across a restart of the daemon, from when the wait began', () => {
    const waiting = step(deploying, refused, 1_000, policy).next;
    const restarted = step(waiting, { type: 'restarted' }, 30_000, policy);
    assert.deepEqual(restarted.effects, [{ type: 'start_candidates' }]);
    const blocked = step(restarted.next, refused, 61_500, policy);
    assert.equal(blocked.next.state.ending?.phase, 'blocked');
  });
});
