/** The rollout state machine on its own: events in, state, effects and decisions out. No I/O. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextStepOf, resumeEffects, step, type GateOutcome, type RolloutEvent, type RolloutPolicy, type StepResult } from '../../../daemon/rollout/machine.js';
import type { Rollout } from '../../../daemon/store/rollouts.js';

const policy: RolloutPolicy = { strategy: 'gradual', initialTraffic: 0, stepPercent: 25, stepIntervalMs: 1000, errorRateAbove: 0.05, minRequests: 50, latencyP99AboveMs: 800 };

function rollout(patch: Partial<Rollout> = {}): Rollout {
  return {
    id: 1,
    pipeline: 'p',
    runId: 'r-1',
    groups: [{ group: 'london', candidate: 2, current: 1 }],
    phase: 'deploying',
    candidateWeight: 0,
    stepIndex: 0,
    phaseStartedAt: 0,
    pausedFrom: null,
    state: {},
    reason: null,
    createdAt: 0,
    updatedAt: 0,
    finishedAt: null,
    version: 1,
    ...patch,
  };
}

const pass = (summary = 'ok'): GateOutcome => ({ passed: true, summary });

/** Feeds events in order; returns every step's result. */
function run(start: Rollout, events: [RolloutEvent, number][], p = policy): StepResult[] {
  let r = start;
  return events.map(([ev, at]) => {
    const res = step(r, ev, at, p);
    r = res.next;
    return res;
  });
}

describe('rollout state machine', () => {
  it('takes a good candidate through every gate and the shift to promoted, with a decision per step', () => {
    const results = run(rollout(), [
      [{ type: 'candidates_live' }, 10],
      [{ type: 'gate_done', gate: 'data_checks', outcome: pass('2 suites passed') }, 20],
      [{ type: 'gate_done', gate: 'integration_tests', outcome: pass() }, 30],
      [{ type: 'gate_done', gate: 'replay', outcome: pass('0 of 500 regress') }, 40],
      [{ type: 'tick' }, 1040],
      [{ type: 'tick' }, 2040],
      [{ type: 'tick' }, 3040],
      [{ type: 'promoted' }, 3050],
    ]);
    assert.deepEqual(results.map((r) => r.next.phase), ['checking_data', 'integration_testing', 'replaying', 'shifting', 'shifting', 'shifting', 'shifting', 'promoted']);
    assert.deepEqual(results.map((r) => r.next.candidateWeight), [0, 0, 0, 25, 50, 75, 100, 100]);
    assert.deepEqual(results[0]!.effects, [{ type: 'run_gate', gate: 'data_checks' }]);
    assert.deepEqual(results[3]!.effects, [{ type: 'set_weight', weight: 25 }]);
    assert.equal(results[3]!.wakeAt, 1040);
    assert.deepEqual(results[6]!.effects, [{ type: 'promote' }]);
    assert.equal(results[7]!.next.finishedAt, 3050);
    const verdicts = results.flatMap((r) => r.decisions.map((d) => `${d.phase}:${d.rule}:${d.verdict}`));
    assert.deepEqual(verdicts, [
      'deploying:candidates_live:advance',
      'checking_data:data_checks:advance',
      'integration_testing:integration_tests:advance',
      'replaying:replay:advance',
      'shifting:step:advance',
      'shifting:step:advance',
      'shifting:step:advance',
      'shifting:step:promote',
    ]);
  });

  it('shifts in fractional steps (12.5%) to promoted, with exact weights and words', () => {
    const fractional = { ...policy, stepPercent: 12.5 };
    const shifting = step(rollout({ phase: 'replaying' }), { type: 'gate_done', gate: 'replay', outcome: pass() }, 0, fractional).next;
    const ticks = Array.from({ length: 7 }, (_, i): [RolloutEvent, number] => [{ type: 'tick' }, (i + 1) * 1000]);
    const results = run(shifting, [...ticks, [{ type: 'promoted' }, 7010]], fractional);
    assert.equal(shifting.candidateWeight, 12.5);
    assert.deepEqual(results.map((r) => r.next.candidateWeight), [25, 37.5, 50, 62.5, 75, 87.5, 100, 100]);
    assert.deepEqual(results[0]!.effects, [{ type: 'set_weight', weight: 25 }]);
    assert.equal(results.at(-1)!.next.phase, 'promoted');
    assert.match(results[0]!.decisions[0]!.reason, /traffic 12\.5% → 25%$/);
    assert.deepEqual(nextStepOf(results[1]!.next, fractional), { at: 3000, weight: 50 });
  });

  it('keeps sums of fractional steps on the 0.01 resolution (0.1 + 0.2 is 0.3)', () => {
    const tenth = { ...policy, stepPercent: 0.1, initialTraffic: 0.2 };
    const shifting = step(rollout({ phase: 'replaying' }), { type: 'gate_done', gate: 'replay', outcome: pass() }, 0, tenth).next;
    const next = step(shifting, { type: 'tick' }, 1000, tenth);
    assert.equal(next.next.candidateWeight, 0.3);
    assert.deepEqual(next.effects, [{ type: 'set_weight', weight: 0.3 }]);
    assert.match(next.decisions[0]!.reason, /traffic 0\.2% → 0\.3%$/);
  });

  it('does not advance before the interval, and says when to wake', () => {
    const shifting = rollout({ phase: 'shifting', candidateWeight: 25, state: { stepStartedAt: 1000 } });
    const early = step(shifting, { type: 'tick' }, 1500, policy);
    assert.equal(early.next, shifting);
    assert.equal(early.wakeAt, 2000);
    assert.deepEqual(early.decisions, []);
  });

  it('blocks on a failed gate, before any live traffic, and retires the candidate first', () => {
    const [gate, retired] = run(rollout({ phase: 'replaying' }), [
      [{ type: 'gate_done', gate: 'replay', outcome: { passed: false, summary: '3 of 100 requests that worked on v1 fail on v2', observed: { regressions: 3 }, threshold: { regressions: 0 }, sample: { requests: 100 } } }, 5],
      [{ type: 'retired' }, 6],
    ]);
    assert.equal(gate!.next.phase, 'replaying');
    assert.deepEqual(gate!.effects, [{ type: 'retire_candidates' }]);
    assert.deepEqual(gate!.decisions[0], {
      phase: 'replaying', rule: 'replay', observed: { regressions: 3 }, threshold: { regressions: 0 }, sample: { requests: 100 }, verdict: 'block', reason: '3 of 100 requests that worked on v1 fail on v2',
    });
    assert.equal(retired!.next.phase, 'blocked');
    assert.equal(retired!.next.candidateWeight, 0);
    assert.match(retired!.next.reason!, /3 of 100/);
  });

  it('rolls back as soon as the error rate is above the threshold, with the figures, not before min_requests', () => {
    const shifting = rollout({ phase: 'shifting', candidateWeight: 25, state: { stepStartedAt: 0 } });
    const few = step(shifting, { type: 'watch', sample: { group: 'london', window: '60s', requests: 49, errors: 49, errorRate: 1, p99Ms: 5 } }, 10, policy);
    assert.equal(few.next, shifting);
    const bad = step(shifting, { type: 'watch', sample: { group: 'london', window: 'last 1000', requests: 60, errors: 6, errorRate: 0.1, p99Ms: 5 } }, 10, policy);
    assert.equal(bad.next.phase, 'rolling_back');
    assert.deepEqual(bad.effects, [{ type: 'retire_candidates' }]);
    assert.deepEqual(
      { rule: bad.decisions[0]!.rule, observed: bad.decisions[0]!.observed, threshold: bad.decisions[0]!.threshold, sample: bad.decisions[0]!.sample, verdict: bad.decisions[0]!.verdict },
      { rule: 'error_rate', observed: 0.1, threshold: 0.05, sample: { group: 'london', window: 'last 1000', requests: 60, errors: 6 }, verdict: 'rollback' },
    );
    assert.match(bad.decisions[0]!.reason, /error rate 10% on london \(6 of the 60 requests of the last 1000 window\) is above 5%/);
    assert.equal(bad.next.candidateWeight, 0, 'the weight shows 0 as soon as the rollback starts');
    const done = step(bad.next, { type: 'retired' }, 20, policy);
    assert.equal(done.next.phase, 'rolled_back');
    assert.equal(done.next.candidateWeight, 0);
    const slow = step(shifting, { type: 'watch', sample: { group: 'london', window: '60s', requests: 60, errors: 0, errorRate: 0, p99Ms: 900 } }, 10, policy);
    assert.equal(slow.decisions[0]!.rule, 'latency_p99');
  });

  it('skips replay and the shift for a first version, saying why, and goes live at 100%', () => {
    const first = rollout({ phase: 'integration_testing', groups: [{ group: 'london', candidate: 1, current: null }] });
    const res = step(first, { type: 'gate_done', gate: 'integration_tests', outcome: pass() }, 5, policy);
    assert.deepEqual(res.effects, [{ type: 'promote' }]);
    assert.equal(res.next.candidateWeight, 100);
    assert.ok(res.decisions.some((d) => d.rule === 'first_version' && /replay and the gradual shift are skipped/.test(d.reason)));
    assert.equal(step(res.next, { type: 'promoted' }, 6, policy).next.phase, 'promoted');
  });

  it('pauses and resumes a shift with the remaining wait, holding the weight meanwhile', () => {
    const shifting = rollout({ phase: 'shifting', candidateWeight: 50, state: { stepStartedAt: 1000 } });
    const paused = step(shifting, { type: 'command', command: 'pause', actor: 'alice' }, 1400, policy);
    assert.equal(paused.next.phase, 'paused');
    assert.equal(paused.next.pausedFrom, 'shifting');
    assert.equal(paused.next.candidateWeight, 50);
    assert.equal(paused.decisions[0]!.verdict, 'hold');
    assert.match(paused.decisions[0]!.reason, /paused by alice at 50% traffic/);
    assert.equal(step(paused.next, { type: 'tick' }, 5000, policy).next, paused.next, 'no step while paused');
    const resumed = step(paused.next, { type: 'command', command: 'resume', actor: 'bob' }, 10_400, policy);
    assert.equal(resumed.next.phase, 'shifting');
    // 400 ms of the 1000 ms interval had passed when paused: 600 ms are left after resuming.
    assert.equal(resumed.wakeAt, 11_000);
  });

  it('restarts a paused gate on resume, and ignores the late result of a cancelled one', () => {
    const replaying = rollout({ phase: 'replaying' });
    const paused = step(replaying, { type: 'command', command: 'pause', actor: 'a' }, 1, policy);
    assert.deepEqual(paused.effects, [{ type: 'cancel_gate' }]);
    assert.equal(step(paused.next, { type: 'gate_done', gate: 'replay', outcome: pass() }, 2, policy).next, paused.next);
    const resumed = step(paused.next, { type: 'command', command: 'resume', actor: 'a' }, 3, policy);
    assert.deepEqual(resumed.effects, [{ type: 'run_gate', gate: 'replay' }]);
  });

  it('accepts manual promote and rollback where they make sense, and refuses them elsewhere', () => {
    const shifting = rollout({ phase: 'shifting', candidateWeight: 25 });
    const promoted = step(shifting, { type: 'command', command: 'promote', actor: 'ops' }, 1, policy);
    assert.deepEqual(promoted.effects, [{ type: 'cancel_gate' }, { type: 'promote' }]);
    assert.match(promoted.decisions[0]!.reason, /promoted by ops at 25% traffic/);
    const rolledBack = step(shifting, { type: 'command', command: 'rollback', actor: 'ops' }, 1, policy);
    assert.equal(rolledBack.next.phase, 'rolling_back');
    assert.equal(rolledBack.next.candidateWeight, 0);
    assert.match(step(rollout(), { type: 'command', command: 'promote', actor: 'ops' }, 1, policy).rejected!, /not live yet/);
    assert.match(step(rollout({ phase: 'promoted' }), { type: 'command', command: 'rollback', actor: 'ops' }, 1, policy).rejected!, /already promoted/);
    assert.match(step(shifting, { type: 'command', command: 'resume', actor: 'ops' }, 1, policy).rejected!, /only a paused rollout/);
  });

  it('rolls an older candidate back when a newer one supersedes it', () => {
    const res = step(rollout({ phase: 'shifting', candidateWeight: 50 }), { type: 'superseded', by: 'run r-9' }, 1, policy);
    assert.equal(res.next.phase, 'rolling_back');
    assert.deepEqual(res.effects, [{ type: 'cancel_gate' }, { type: 'retire_candidates' }]);
    assert.match(res.decisions[0]!.reason, /superseded by run r-9/);
  });

  it('goes all at once when the strategy says so', () => {
    const res = step(rollout({ phase: 'replaying' }), { type: 'gate_done', gate: 'replay', outcome: pass() }, 1, { ...policy, strategy: 'all_at_once' });
    assert.deepEqual(res.effects, [{ type: 'promote' }]);
  });

  it('tells a restarted daemon what to re-apply in each phase', () => {
    assert.deepEqual(resumeEffects(rollout(), 0, policy).effects, [{ type: 'start_candidates' }]);
    assert.deepEqual(resumeEffects(rollout({ phase: 'replaying' }), 0, policy).effects, [{ type: 'start_candidates' }, { type: 'run_gate', gate: 'replay' }]);
    const shifting = resumeEffects(rollout({ phase: 'shifting', candidateWeight: 75, state: { stepStartedAt: 500 } }), 900, policy);
    assert.deepEqual(shifting, { effects: [{ type: 'set_weight', weight: 75 }], wakeAt: 1500 });
    assert.deepEqual(resumeEffects(rollout({ phase: 'rolling_back', state: { ending: { phase: 'rolled_back', reason: 'x' } } }), 0, policy).effects, [{ type: 'retire_candidates' }]);
    assert.deepEqual(resumeEffects(rollout({ phase: 'shifting', state: { ending: { phase: 'promoted', reason: 'x' } } }), 0, policy).effects, [{ type: 'promote' }]);
  });

  it('says when the next step of the shift is due and where it takes the weight, as the tick then does', () => {
    const shifting = step(rollout({ phase: 'replaying' }), { type: 'gate_done', gate: 'replay', outcome: pass() }, 5000, policy).next;
    assert.deepEqual(nextStepOf(shifting, policy), { at: 6000, weight: 50 });
    assert.equal(step(shifting, { type: 'tick' }, 5999, policy).next.candidateWeight, 25, 'not due a millisecond earlier');
    const stepped = step(shifting, { type: 'tick' }, 6000, policy).next;
    assert.equal(stepped.candidateWeight, 50);
    assert.deepEqual(nextStepOf(stepped, policy), { at: 7000, weight: 75 });
  });

  it('has no next step while paused, and after a resume the wait goes on with the time it had left', () => {
    const shifting = rollout({ phase: 'shifting', candidateWeight: 25, state: { stepStartedAt: 1000 } });
    const paused = step(shifting, { type: 'command', command: 'pause', actor: 'ana' }, 1400, policy).next;
    assert.equal(nextStepOf(paused, policy), null);
    const resumed = step(paused, { type: 'command', command: 'resume', actor: 'ana' }, 9400, policy).next;
    assert.deepEqual(nextStepOf(resumed, policy), { at: 10_000, weight: 50 });
  });

  it('stops the next step at 100%, and has none once the last step was taken or outside the shift', () => {
    const near = rollout({ phase: 'shifting', candidateWeight: 90, state: { stepStartedAt: 0 } });
    assert.deepEqual(nextStepOf(near, policy), { at: 1000, weight: 100 });
    const last = step(near, { type: 'tick' }, 1000, policy).next;
    assert.equal(last.phase, 'shifting', 'still shifting while the promote runs');
    assert.equal(nextStepOf(last, policy), null);
    for (const phase of ['deploying', 'replaying', 'promoted', 'rolled_back'] as const) assert.equal(nextStepOf(rollout({ phase, candidateWeight: 25 }), policy), null, phase);
  });
});
