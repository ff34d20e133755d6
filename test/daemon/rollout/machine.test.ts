/** The rollout state machine on its own: events in, state, effects and decisions out. No I/O. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  nextStepOf,
  step,
  type GateOutcome,
  type RolloutEvent,
  type RolloutPolicy,
  type StepResult,
} from '../../../daemon/rollout/machine.js';
import type { Rollout } from '../../../daemon/rollout/rollout.js';
import { rolloutOf } from '../../helpers/rollouts.js';

const policy: RolloutPolicy = {
  strategy: 'gradual',
  initialTraffic: 0,
  stepPercent: 25,
  stepIntervalMs: 1000,
  errorRateAbove: 0.05,
  minRequests: 50,
  latencyP99AboveMs: 800,
};

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
    const results = run(rolloutOf(), [
      [{ type: 'candidates_live' }, 10],
      [{ type: 'gate_done', gate: 'data_checks', outcome: pass('2 suites passed') }, 20],
      [{ type: 'gate_done', gate: 'integration_tests', outcome: pass() }, 30],
      [{ type: 'gate_done', gate: 'replay', outcome: pass('0 of 500 regress') }, 40],
      [{ type: 'tick' }, 1040],
      [{ type: 'tick' }, 2040],
      [{ type: 'tick' }, 3040],
      [{ type: 'promoted' }, 3050],
    ]);
    assert.deepEqual(
      results.map((r) => r.next.phase),
      ['checking_data', 'integration_testing', 'replaying', 'shifting', 'shifting', 'shifting', 'shifting', 'promoted'],
    );
    assert.deepEqual(
      results.map((r) => r.next.candidateWeight),
      [0, 0, 0, 25, 50, 75, 100, 100],
    );
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
    const shifting = step(rolloutOf({ phase: 'replaying' }), { type: 'gate_done', gate: 'replay', outcome: pass() }, 0, fractional).next;
    const ticks = Array.from({ length: 7 }, (_, i): [RolloutEvent, number] => [{ type: 'tick' }, (i + 1) * 1000]);
    const results = run(shifting, [...ticks, [{ type: 'promoted' }, 7010]], fractional);
    assert.equal(shifting.candidateWeight, 12.5);
    assert.deepEqual(
      results.map((r) => r.next.candidateWeight),
      [25, 37.5, 50, 62.5, 75, 87.5, 100, 100],
    );
    assert.deepEqual(results[0]!.effects, [{ type: 'set_weight', weight: 25 }]);
    assert.equal(results.at(-1)!.next.phase, 'promoted');
    assert.match(results[0]!.decisions[0]!.reason, /traffic 12\.5% → 25%$/);
    assert.deepEqual(nextStepOf(results[1]!.next, fractional), { at: 3000, weight: 50 });
  });

  it('keeps sums of fractional steps on the 0.01 resolution (0.1 + 0.2 is 0.3)', () => {
    const tenth = { ...policy, stepPercent: 0.1, initialTraffic: 0.2 };
    const shifting = step(rolloutOf({ phase: 'replaying' }), { type: 'gate_done', gate: 'replay', outcome: pass() }, 0, tenth).next;
    const next = step(shifting, { type: 'tick' }, 1000, tenth);
    assert.equal(next.next.candidateWeight, 0.3);
    assert.deepEqual(next.effects, [{ type: 'set_weight', weight: 0.3 }]);
    assert.match(next.decisions[0]!.reason, /traffic 0\.2% → 0\.3%$/);
  });

  it('does not advance before the interval, and says when to wake', () => {
    const shifting = rolloutOf({ phase: 'shifting', candidateWeight: 25, state: { stepStartedAt: 1000 } });
    const early = step(shifting, { type: 'tick' }, 1500, policy);
    assert.equal(early.next, shifting);
    assert.equal(early.wakeAt, 2000);
    assert.deepEqual(early.decisions, []);
  });

  it('blocks on a failed gate, before any live traffic, and retires the candidate first', () => {
    const [gate, retired] = run(rolloutOf({ phase: 'replaying' }), [
      [
        {
          type: 'gate_done',
          gate: 'replay',
          outcome: {
            passed: false,
            summary: '3 of 100 requests that worked on v1 fail on v2',
            observed: { regressions: 3 },
            threshold: { regressions: 0 },
            sample: { requests: 100 },
          },
        },
        5,
      ],
      [{ type: 'retired' }, 6],
    ]);
    assert.equal(gate!.next.phase, 'replaying');
    assert.deepEqual(gate!.effects, [{ type: 'retire_candidates' }]);
    assert.deepEqual(gate!.decisions[0], {
      phase: 'replaying',
      rule: 'replay',
      observed: { regressions: 3 },
      threshold: { regressions: 0 },
      sample: { requests: 100 },
      verdict: 'block',
      reason: '3 of 100 requests that worked on v1 fail on v2',
    });
    assert.equal(retired!.next.phase, 'blocked');
    assert.equal(retired!.next.candidateWeight, 0);
    assert.match(retired!.next.reason!, /3 of 100/);
  });

  it('rolls back as soon as the error rate is above the threshold, with the figures, not before min_requests', () => {
    const shifting = rolloutOf({ phase: 'shifting', candidateWeight: 25, state: { stepStartedAt: 0 } });
    const few = step(
      shifting,
      { type: 'watch', sample: { group: 'london', window: '60s', requests: 49, errors: 49, errorRate: 1, p99Ms: 5 } },
      10,
      policy,
    );
    assert.equal(few.next, shifting);
    const bad = step(
      shifting,
      { type: 'watch', sample: { group: 'london', window: 'last 1000', requests: 60, errors: 6, errorRate: 0.1, p99Ms: 5 } },
      10,
      policy,
    );
    assert.equal(bad.next.phase, 'rolling_back');
    assert.deepEqual(bad.effects, [{ type: 'retire_candidates' }]);
    assert.deepEqual(
      {
        rule: bad.decisions[0]!.rule,
        observed: bad.decisions[0]!.observed,
        threshold: bad.decisions[0]!.threshold,
        sample: bad.decisions[0]!.sample,
        verdict: bad.decisions[0]!.verdict,
      },
      {
        rule: 'error_rate',
        observed: 0.1,
        threshold: 0.05,
        sample: { group: 'london', window: 'last 1000', requests: 60, errors: 6 },
        verdict: 'rollback',
      },
    );
    assert.match(bad.decisions[0]!.reason, /error rate 10% on london \(6 of the 60 requests of the last 1000 window\) is above 5%/);
    assert.equal(bad.next.candidateWeight, 0, 'the weight shows 0 as soon as the rollback starts');
    const done = step(bad.next, { type: 'retired' }, 20, policy);
    assert.equal(done.next.phase, 'rolled_back');
    assert.equal(done.next.candidateWeight, 0);
    const slow = step(
      shifting,
      { type: 'watch', sample: { group: 'london', window: '60s', requests: 60, errors: 0, errorRate: 0, p99Ms: 900 } },
      10,
      policy,
    );
    assert.equal(slow.decisions[0]!.rule, 'latency_p99');
  });

  it('skips replay and the shift for a first version, saying why, and goes live at 100%', () => {
    const first = rolloutOf({ phase: 'integration_testing', groups: [{ group: 'london', candidate: 1, current: null }] });
    const res = step(first, { type: 'gate_done', gate: 'integration_tests', outcome: pass() }, 5, policy);
    assert.deepEqual(res.effects, [{ type: 'promote' }]);
    assert.equal(res.next.candidateWeight, 100);
    assert.ok(res.decisions.some((d) => d.rule === 'first_version' && /replay and the gradual shift are skipped/.test(d.reason)));
    assert.equal(step(res.next, { type: 'promoted' }, 6, policy).next.phase, 'promoted');
  });

  it('pauses and resumes a shift with the remaining wait, holding the weight meanwhile', () => {
    const shifting = rolloutOf({ phase: 'shifting', candidateWeight: 50, state: { stepStartedAt: 1000 } });
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
    const replaying = rolloutOf({ phase: 'replaying' });
    const paused = step(replaying, { type: 'command', command: 'pause', actor: 'a' }, 1, policy);
    assert.deepEqual(paused.effects, [{ type: 'cancel_gate' }]);
    assert.equal(step(paused.next, { type: 'gate_done', gate: 'replay', outcome: pass() }, 2, policy).next, paused.next);
    const resumed = step(paused.next, { type: 'command', command: 'resume', actor: 'a' }, 3, policy);
    assert.deepEqual(resumed.effects, [{ type: 'run_gate', gate: 'replay' }]);
  });

  it('accepts manual promote and rollback where they make sense, and refuses them elsewhere', () => {
    const shifting = rolloutOf({ phase: 'shifting', candidateWeight: 25 });
    const promoted = step(shifting, { type: 'command', command: 'promote', actor: 'ops' }, 1, policy);
    assert.deepEqual(promoted.effects, [{ type: 'cancel_gate' }, { type: 'promote' }]);
    assert.match(promoted.decisions[0]!.reason, /promoted by ops at 25% traffic/);
    const rolledBack = step(shifting, { type: 'command', command: 'rollback', actor: 'ops' }, 1, policy);
    assert.equal(rolledBack.next.phase, 'rolling_back');
    assert.equal(rolledBack.next.candidateWeight, 0);
    assert.match(step(rolloutOf(), { type: 'command', command: 'promote', actor: 'ops' }, 1, policy).rejected!, /not live yet/);
    assert.match(
      step(rolloutOf({ phase: 'promoted' }), { type: 'command', command: 'rollback', actor: 'ops' }, 1, policy).rejected!,
      /already promoted/,
    );
    assert.match(step(shifting, { type: 'command', command: 'resume', actor: 'ops' }, 1, policy).rejected!, /only a paused rollout/);
  });

  it('rolls an older candidate back when a newer one supersedes it', () => {
    const res = step(rolloutOf({ phase: 'shifting', candidateWeight: 50 }), { type: 'superseded', by: 'run r-9' }, 1, policy);
    assert.equal(res.next.phase, 'rolling_back');
    assert.deepEqual(res.effects, [{ type: 'cancel_gate' }, { type: 'retire_candidates' }]);
    assert.match(res.decisions[0]!.reason, /superseded by run r-9/);
  });

  it('goes all at once when the strategy says so', () => {
    const res = step(rolloutOf({ phase: 'replaying' }), { type: 'gate_done', gate: 'replay', outcome: pass() }, 1, {
      ...policy,
      strategy: 'all_at_once',
    });
    assert.deepEqual(res.effects, [{ type: 'promote' }]);
  });

  it('tells a restarted daemon what to re-apply in each phase', () => {
    const restart = (r: Rollout) => step(r, { type: 'restarted' }, 0, policy).effects;
    assert.deepEqual(restart(rolloutOf()), [{ type: 'start_candidates' }]);
    assert.deepEqual(restart(rolloutOf({ phase: 'shifting', candidateWeight: 75, state: { stepStartedAt: 0 } })), [
      { type: 'set_weight', weight: 75 },
      { type: 'start_candidates' },
    ]);
    assert.deepEqual(restart(rolloutOf({ phase: 'rolling_back', state: { ending: { phase: 'rolled_back', reason: 'x' } } })), [
      { type: 'retire_candidates' },
    ]);
    assert.deepEqual(restart(rolloutOf({ phase: 'shifting', state: { ending: { phase: 'promoted', reason: 'x' } } })), [
      { type: 'promote' },
    ]);
    assert.deepEqual(restart(rolloutOf({ phase: 'paused', pausedFrom: 'deploying' })), [], 'resume starts the candidates');
  });

  it('after a restart in a gate phase, runs the gate again only once the candidates are live', () => {
    const [restarted, live, replayed] = run(rolloutOf({ phase: 'replaying' }), [
      [{ type: 'restarted' }, 100],
      [{ type: 'candidates_live' }, 2100],
      [{ type: 'gate_done', gate: 'replay', outcome: pass('0 of 60 regress') }, 2500],
    ]);
    assert.deepEqual(
      restarted!.effects,
      [{ type: 'set_weight', weight: 0 }, { type: 'start_candidates' }],
      'no gate before the servers are back',
    );
    assert.deepEqual(
      restarted!.decisions.map((d) => `${d.rule}:${d.verdict}`),
      ['restart:hold'],
    );
    assert.match(
      restarted!.decisions[0]!.reason,
      /restarted during replaying: the replay gate runs again from the start once v2 of london and the current version answer \/ping/,
    );
    assert.deepEqual(live!.effects, [{ type: 'run_gate', gate: 'replay' }]);
    assert.deepEqual(
      live!.decisions.map((d) => `${d.rule}:${d.verdict}`),
      ['candidates_live:resume'],
    );
    assert.equal(replayed!.next.phase, 'shifting');
    assert.equal(step(live!.next, { type: 'candidates_live' }, 2200, policy).effects.length, 0, 'a second report runs nothing twice');
  });

  it('blocks with the true reason when a candidate does not come back after a restart, and rolls back when traffic had moved', () => {
    const why = 'the model server did not answer GET /ping with 200 within 60s (serve.startup_timeout_seconds)';
    const gate = run(rolloutOf({ phase: 'integration_testing' }), [
      [{ type: 'restarted' }, 1],
      [{ type: 'candidates_failed', reason: why }, 2],
    ])[1]!;
    assert.equal(gate.decisions[0]!.verdict, 'block');
    assert.equal(gate.decisions[0]!.reason, `the daemon restarted and a candidate did not come back: ${why}`);
    assert.deepEqual(gate.effects, [{ type: 'retire_candidates' }]);
    assert.equal(step(gate.next, { type: 'retired' }, 3, policy).next.phase, 'blocked');
    const shift = run(rolloutOf({ phase: 'shifting', candidateWeight: 50, state: { stepStartedAt: 0 } }), [
      [{ type: 'restarted' }, 1],
      [{ type: 'candidates_failed', reason: why }, 2],
    ])[1]!;
    assert.equal(shift.next.phase, 'rolling_back');
    assert.equal(shift.next.candidateWeight, 0);
    assert.equal(shift.decisions[0]!.verdict, 'rollback');
  });

  it('does not count downtime as watched: the step goes on with its remaining time once the candidates are live again', () => {
    const slow = { ...policy, stepIntervalMs: 20_000 };
    // At 25% since t=0; the watch reported at 1 s .. 4 s; killed at 4.5 s; started again at 34.5 s; live at 36.5 s.
    const results = run(
      rolloutOf({
        phase: 'shifting',
        candidateWeight: 25,
        state: { stepStartedAt: 0, watch: { step: 0, observedAt: 0, requests: 0, errors: 0 } },
      }),
      [
        [{ type: 'observed', requests: 30, errors: 0 }, 1000],
        [{ type: 'observed', requests: 30, errors: 1 }, 4000],
        [{ type: 'restarted' }, 34_500],
        [{ type: 'tick' }, 34_600],
        [{ type: 'candidates_live' }, 36_500],
        [{ type: 'tick' }, 52_499],
        [{ type: 'observed', requests: 500, errors: 2 }, 52_000],
        [{ type: 'tick' }, 52_500],
      ],
      slow,
    );
    const [, , restarted, during, live, early, , due] = results;
    assert.equal(restarted!.wakeAt, undefined, 'no step is due while the candidates are not live');
    assert.deepEqual(restarted!.decisions[0]!.observed, { watchedMs: 4000 });
    assert.match(restarted!.decisions[0]!.reason, /this step had been watched 4 s of 20 s \(last observed 30.5 s ago\)/);
    assert.equal(during!.next.candidateWeight, 25, 'twenty seconds of downtime are not a step');
    assert.equal(nextStepOf(during!.next, slow), null);
    // 4 s were watched before the crash: 16 s are left from the moment v2 is live again.
    assert.equal(live!.wakeAt, 52_500);
    assert.match(live!.decisions[0]!.reason, /the step at 25% goes on with the 16 s it had left \(not watched for 32.5 s\)/);
    assert.deepEqual(nextStepOf(live!.next, slow), { at: 52_500, weight: 50 });
    assert.equal(early!.next.candidateWeight, 25);
    assert.equal(due!.next.candidateWeight, 50);
    const d = due!.decisions[0]!;
    assert.deepEqual(d.sample, { watchedMs: 20_000, requests: 560, errors: 3 });
    assert.equal(
      d.reason,
      'watched 20 s at 25% without a rollback: v2 of london served 560 requests, 3 of them errors (0.54%): traffic 25% → 50%',
    );
    assert.deepEqual(due!.next.state.watch, { step: 1, observedAt: 52_500, requests: 0, errors: 0 }, 'the next step counts afresh');
  });

  it("stops the step's clock while a candidate's server is down during the shift, and rolls back if it never comes back", () => {
    const slow = { ...policy, stepIntervalMs: 20_000 };
    const shifting = rolloutOf({
      phase: 'shifting',
      candidateWeight: 25,
      state: { stepStartedAt: 0, watch: { step: 0, observedAt: 0, requests: 0, errors: 0 } },
    });
    const why = 'v2 of p/london is not live (starting: the model server exited (signal SIGKILL))';
    const [, down, again, tick, back] = run(
      shifting,
      [
        [{ type: 'observed', requests: 10, errors: 0 }, 3000],
        [{ type: 'candidates_down', reason: why }, 3800],
        [{ type: 'candidates_down', reason: why }, 4800],
        [{ type: 'tick' }, 20_000],
        [{ type: 'candidates_live' }, 9000],
      ],
      slow,
    );
    assert.deepEqual(down!.effects, [{ type: 'await_candidates' }]);
    assert.equal(down!.decisions[0]!.verdict, 'hold');
    assert.equal(down!.decisions[0]!.reason, `${why}: the step at 25% stands still, watched 3 s of 20 s, until it answers /ping again`);
    assert.equal(again!.next, down!.next, 'said once');
    assert.equal(tick!.next.candidateWeight, 25);
    assert.equal(back!.wakeAt, 26_000, '3 s watched, 17 s left from 9 s');
    assert.match(
      back!.decisions[0]!.reason,
      /^v2 of london answers \/ping again: the step at 25% goes on with the 17 s it had left \(not watched for 6 s\)$/,
    );
    const gaveUp = step(
      down!.next,
      { type: 'candidates_failed', reason: 'v2 of p/london did not come back: it exited 5 times (gave up after 5 attempts)' },
      9000,
      slow,
    );
    assert.equal(gaveUp.next.phase, 'rolling_back');
    assert.equal(gaveUp.decisions[0]!.reason, 'v2 of p/london did not come back: it exited 5 times (gave up after 5 attempts)');
  });

  it('keeps the earliest stopped moment when the daemon restarts again before the candidates came back', () => {
    const slow = { ...policy, stepIntervalMs: 20_000 };
    const [, , , live] = run(
      rolloutOf({
        phase: 'shifting',
        candidateWeight: 25,
        stepIndex: 2,
        state: { stepStartedAt: 10_000, watch: { step: 2, observedAt: 10_000, requests: 0, errors: 0 } },
      }),
      [
        [{ type: 'observed', requests: 0, errors: 0 }, 15_000],
        [{ type: 'restarted' }, 60_000],
        [{ type: 'restarted' }, 90_000],
        [{ type: 'candidates_live' }, 100_000],
      ],
      slow,
    );
    assert.equal(live!.wakeAt, 115_000, '5 s watched before the first crash, 15 s left');
  });

  it('after a restart, a watch report of an earlier step counts nothing of this one', () => {
    const slow = { ...policy, stepIntervalMs: 20_000 };
    const r = rolloutOf({
      phase: 'shifting',
      candidateWeight: 50,
      stepIndex: 1,
      state: { stepStartedAt: 30_000, watch: { step: 0, observedAt: 29_000, requests: 9, errors: 0 } },
    });
    const [, live] = run(
      r,
      [
        [{ type: 'restarted' }, 60_000],
        [{ type: 'candidates_live' }, 61_000],
      ],
      slow,
    );
    assert.equal(live!.wakeAt, 81_000, 'nothing of step 1 was watched');
  });

  it('after a restart while paused, resuming waits for the candidates before a gate runs or the clock goes on', () => {
    const pausedGate = rolloutOf({ phase: 'paused', pausedFrom: 'replaying' });
    const [restarted, resumed, live] = run(pausedGate, [
      [{ type: 'restarted' }, 10],
      [{ type: 'command', command: 'resume', actor: 'ana' }, 20],
      [{ type: 'candidates_live' }, 3000],
    ]);
    assert.deepEqual(restarted!.effects, [{ type: 'set_weight', weight: 0 }, { type: 'start_candidates' }]);
    assert.equal(resumed!.next.phase, 'replaying');
    assert.deepEqual(resumed!.effects, [], 'the gate does not judge servers that are not back');
    assert.deepEqual(live!.effects, [{ type: 'run_gate', gate: 'replay' }]);
    // Live again while still paused: resume runs the gate at once, as after any pause.
    const liveWhilePaused = run(pausedGate, [
      [{ type: 'restarted' }, 10],
      [{ type: 'candidates_live' }, 20],
      [{ type: 'command', command: 'resume', actor: 'ana' }, 30],
    ]);
    assert.deepEqual(liveWhilePaused[2]!.effects, [{ type: 'run_gate', gate: 'replay' }]);

    // A shift paused 400 ms into a 1000 ms step, restarted, resumed, live again later: 600 ms are left from then.
    const pausedShift = rolloutOf({
      phase: 'paused',
      pausedFrom: 'shifting',
      candidateWeight: 50,
      state: { stepStartedAt: 1000, pausedAt: 1400 },
    });
    const shift = run(pausedShift, [
      [{ type: 'restarted' }, 50_000],
      [{ type: 'command', command: 'resume', actor: 'ana' }, 51_000],
      [{ type: 'tick' }, 60_000],
      [{ type: 'candidates_live' }, 70_000],
    ]);
    assert.equal(shift[1]!.wakeAt, undefined);
    assert.equal(shift[2]!.next.candidateWeight, 50);
    assert.equal(shift[3]!.wakeAt, 70_600);
  });

  it('a pause while waiting for the candidates after a restart keeps the time that was not watched out of the step', () => {
    const slow = { ...policy, stepIntervalMs: 20_000 };
    const [, , , , resumed] = run(
      rolloutOf({
        phase: 'shifting',
        candidateWeight: 25,
        state: { stepStartedAt: 0, watch: { step: 0, observedAt: 5000, requests: 0, errors: 0 } },
      }),
      [
        [{ type: 'restarted' }, 30_000],
        [{ type: 'command', command: 'pause', actor: 'ana' }, 31_000],
        [{ type: 'candidates_live' }, 32_000],
        [{ type: 'tick' }, 40_000],
        [{ type: 'command', command: 'resume', actor: 'ana' }, 50_000],
      ],
      slow,
    );
    assert.equal(resumed!.wakeAt, 65_000, '5 s watched: 15 s left from the resume');
  });

  it('refuses a manual promote while the candidates are not live again after a restart', () => {
    const restarted = step(
      rolloutOf({ phase: 'shifting', candidateWeight: 25, state: { stepStartedAt: 0 } }),
      { type: 'restarted' },
      10,
      policy,
    ).next;
    assert.match(step(restarted, { type: 'command', command: 'promote', actor: 'ops' }, 11, policy).rejected!, /not live again yet/);
  });

  it('counts what the watch observed only while shifting, not while paused or waiting for the candidates', () => {
    const shifting = rolloutOf({ phase: 'shifting', candidateWeight: 25, state: { stepStartedAt: 0 } });
    const seen = step(shifting, { type: 'observed', requests: 7, errors: 1 }, 500, policy).next;
    assert.deepEqual(seen.state.watch, { step: 0, observedAt: 500, requests: 7, errors: 1 });
    const paused = step(seen, { type: 'command', command: 'pause', actor: 'a' }, 600, policy).next;
    assert.equal(step(paused, { type: 'observed', requests: 5, errors: 0 }, 700, policy).next, paused);
    const restarted = step(seen, { type: 'restarted' }, 900, policy).next;
    assert.equal(step(restarted, { type: 'observed', requests: 5, errors: 0 }, 950, policy).next, restarted);
  });

  it('says when the next step of the shift is due and where it takes the weight, as the tick then does', () => {
    const shifting = step(rolloutOf({ phase: 'replaying' }), { type: 'gate_done', gate: 'replay', outcome: pass() }, 5000, policy).next;
    assert.deepEqual(nextStepOf(shifting, policy), { at: 6000, weight: 50 });
    assert.equal(step(shifting, { type: 'tick' }, 5999, policy).next.candidateWeight, 25, 'not due a millisecond earlier');
    const stepped = step(shifting, { type: 'tick' }, 6000, policy).next;
    assert.equal(stepped.candidateWeight, 50);
    assert.deepEqual(nextStepOf(stepped, policy), { at: 7000, weight: 75 });
  });

  it('has no next step while paused, and after a resume the wait goes on with the time it had left', () => {
    const shifting = rolloutOf({ phase: 'shifting', candidateWeight: 25, state: { stepStartedAt: 1000 } });
    const paused = step(shifting, { type: 'command', command: 'pause', actor: 'ana' }, 1400, policy).next;
    assert.equal(nextStepOf(paused, policy), null);
    const resumed = step(paused, { type: 'command', command: 'resume', actor: 'ana' }, 9400, policy).next;
    assert.deepEqual(nextStepOf(resumed, policy), { at: 10_000, weight: 50 });
  });

  it('stops the next step at 100%, and has none once the last step was taken or outside the shift', () => {
    const near = rolloutOf({ phase: 'shifting', candidateWeight: 90, state: { stepStartedAt: 0 } });
    assert.deepEqual(nextStepOf(near, policy), { at: 1000, weight: 100 });
    const last = step(near, { type: 'tick' }, 1000, policy).next;
    assert.equal(last.phase, 'shifting', 'still shifting while the promote runs');
    assert.equal(nextStepOf(last, policy), null);
    for (const phase of ['deploying', 'replaying', 'promoted', 'rolled_back'] as const)
      assert.equal(nextStepOf(rolloutOf({ phase, candidateWeight: 25 }), policy), null, phase);
  });
});
