/**
 * The rollout state machine (docs/rollouts.md, "Phases" and "Crashes and restarts"), as a pure function: `step(rollout, event, now, policy)`
 * returns the next persisted state, the effects to carry out, the decisions to record and when to
 * wake up next. No I/O, no clock: the controller owns those.
 *
 *   deploying → checking_data → integration_testing → replaying → shifting → promoted
 *   any active phase → paused → (back) | rolling_back → rolled_back;  a failed gate → blocked;
 *   the machinery itself failing → failed.
 *
 * Terminal phases are only entered once their effect is done (promote, retire the candidates):
 * the machine asks for the effect and records where it is going in `state.ending`; the effect's
 * completion event moves it there. A crash in between re-runs the (idempotent) effect on restart.
 * Meanwhile the rollout keeps the phase it finishes from; display.ts tells people it is finishing.
 */
import type { RolloutPhase } from '../../shared/domain.js';
import { formatPercent, roundPercent } from '../../shared/percent.js';
import type { Verdict } from '../../shared/reports/decision.js';
import type { NewDecision } from './decision.js';
import { GATES, type FinalPhase, type Gate, type GateOutcome, type Rollout, type RolloutState, type StepWatch } from './rollout.js';

export type { Gate, GateOutcome } from './rollout.js';

/** What the live error-rate watch saw on the candidate (the worst group, over the worse of its windows). */
export interface WatchSample {
  group: string;
  /** `60s` (the time window) or `last 1000` (the count window, which reacts within a few requests). */
  window: string;
  requests: number;
  errors: number;
  errorRate: number;
  p99Ms: number | null;
}

export type RolloutEvent =
  | { type: 'tick' }
  /** The daemon started again with this rollout active: bring the world back in line with the stored state. */
  | { type: 'restarted' }
  /** `notes`: what the platform did besides, for the decision (a group's current version brought up where it moves to). */
  | { type: 'candidates_live'; notes?: readonly string[] }
  | { type: 'candidates_failed'; reason: string }
  /** Starting the candidates would take more model servers than the budget allows (serving.max_servers): wait for room. */
  | { type: 'over_budget'; reason: string; servers: number; max: number }
  /** While shifting, a candidate's server stopped answering (it is being restarted): the watch cannot observe it. */
  | { type: 'candidates_down'; reason: string }
  | { type: 'gate_done'; gate: Gate; outcome: GateOutcome }
  | { type: 'watch'; sample: WatchSample }
  /** The watch is observing the shift: the candidates' requests and errors since its last report (about every second). */
  | { type: 'observed'; requests: number; errors: number }
  | { type: 'promoted' }
  | { type: 'retired' }
  | { type: 'command'; command: 'promote' | 'rollback' | 'pause' | 'resume'; actor: string }
  | { type: 'superseded'; by: string }
  | { type: 'machinery_failed'; reason: string };

export type Effect =
  /**
   * Make each group's candidate variant exist (weight 0) and wait until it, and the current version beside it,
   * are live → candidates_live / candidates_failed.
   */
  | { type: 'start_candidates' }
  /** Wait until every candidate is live again (their servers are restarting) → candidates_live / candidates_failed. */
  | { type: 'await_candidates' }
  /** Run a gate → gate_done. */
  | { type: 'run_gate'; gate: Gate }
  /** Stop a gate that is running (pause, rollback); its result is ignored. */
  | { type: 'cancel_gate' }
  /** Give the candidates this share of their group's traffic (the current variants the rest). */
  | { type: 'set_weight'; weight: number }
  /** Candidates take all traffic and become current; the old variants drain and stop → promoted. */
  | { type: 'promote' }
  /** Candidates to weight 0, drained and stopped → retired. */
  | { type: 'retire_candidates' };

/** The rollout settings of a pipeline, with durations already divided by --time-scale. */
export interface RolloutPolicy {
  strategy: 'gradual' | 'all_at_once';
  initialTraffic: number;
  stepPercent: number;
  stepIntervalMs: number;
  errorRateAbove: number;
  minRequests: number;
  latencyP99AboveMs: number | null;
  /** How long a rollout waits for room in the server budget before it blocks (default 30 minutes). */
  serverBudgetWaitMs?: number;
  /** How often it tries again meanwhile (default 5 s). */
  serverBudgetRetryMs?: number;
}

const SERVER_BUDGET_WAIT_MS = 30 * 60_000;
const SERVER_BUDGET_RETRY_MS = 5_000;

export interface StepResult {
  next: Rollout;
  effects: Effect[];
  decisions: NewDecision[];
  /** When to call again with a tick (a step of the shift is due). */
  wakeAt?: number;
  /** Set when the event was a command that does not fit the phase; nothing else changed. */
  rejected?: string;
}

const GATE_PHASE: Record<Gate, RolloutPhase> = {
  data_checks: 'checking_data',
  integration_tests: 'integration_testing',
  replay: 'replaying',
};
const ACTIVE: ReadonlySet<RolloutPhase> = new Set([
  'deploying',
  'checking_data',
  'integration_testing',
  'replaying',
  'shifting',
  'paused',
  'rolling_back',
]);

export const isFirstVersion = (r: Rollout) => r.groups.every((g) => g.current === null);

/**
 * When the current step of the shift started: the stored start, else (a state saved without one) the phase's
 * start. Every wait of the shift counts from here.
 */
export const stepStartOf = (r: Rollout): number => r.state.stepStartedAt ?? r.phaseStartedAt;

/**
 * When the shift's next step is due and the candidates' weight after it, for people watching; the
 * `tick` handler below decides the same from the same stored start time. Null outside `shifting`, while
 * the clock stands still (the candidates are not live), and once the rollout is finishing (the last step was taken).
 */
export function nextStepOf(r: Rollout, policy: RolloutPolicy): { at: number; weight: number } | null {
  if (r.phase !== 'shifting' || r.state.ending || r.state.awaitingCandidates) return null;
  return { at: stepStartOf(r) + policy.stepIntervalMs, weight: weightAfterStep(r, policy) };
}

/** The candidates' weight one step on; percentages may be fractional (12.5), so the sum is rounded to their resolution. */
function weightAfterStep(r: Rollout, policy: RolloutPolicy): number {
  return Math.min(100, roundPercent(r.candidateWeight + policy.stepPercent));
}

/**
 * One transition in the making: the rollout as the event found it, the time and the policy, and what the
 * transition has produced so far. The handlers below change the result only through its verbs.
 */
interface Transition {
  /** The rollout as the event found it. */
  readonly r: Rollout;
  readonly s: RolloutState;
  readonly now: number;
  readonly policy: RolloutPolicy;
  readonly out: StepResult;
  /** Moves to `phase` (its start time changes only with it), patching the rollout and its state. */
  go(phase: RolloutPhase, patch?: Partial<Rollout>, state?: Partial<RolloutState>): void;
  /** Records a decision, in the phase the event found unless it says otherwise. */
  decide(d: Omit<NewDecision, 'phase'> & { phase?: RolloutPhase }): void;
  /** Starts finishing: asks for the effect whose completion event (promoted, retired) moves the rollout to `phase`. */
  finish(phase: FinalPhase, reason: string, effect: Effect): void;
  /** The candidates lose their traffic at once, then are retired: every rollback, whoever decides it. */
  rollBack(reason: string): void;
  /** A command that does not fit: nothing changes. */
  reject(why: string): StepResult;
}

function transition(r: Rollout, now: number, policy: RolloutPolicy): Transition {
  const out: StepResult = { next: r, effects: [], decisions: [] };
  const t: Transition = {
    r,
    s: r.state,
    now,
    policy,
    out,
    go(phase, patch = {}, state = {}) {
      out.next = {
        ...out.next,
        ...patch,
        phase,
        phaseStartedAt: phase === out.next.phase ? out.next.phaseStartedAt : now,
        state: { ...out.next.state, ...state },
      };
    },
    decide(d) {
      out.decisions.push({ phase: r.phase, ...d });
    },
    finish(phase, reason, effect) {
      out.next = { ...out.next, reason, state: { ...out.next.state, ending: { phase, reason } } };
      out.effects.push(effect);
    },
    rollBack(reason) {
      t.go('rolling_back', { pausedFrom: null, candidateWeight: 0 });
      t.finish('rolled_back', reason, { type: 'retire_candidates' });
    },
    reject: (why) => ({ next: r, effects: [], decisions: [], rejected: why }),
  };
  return t;
}

export function step(r: Rollout, ev: RolloutEvent, now: number, policy: RolloutPolicy): StepResult {
  const t = transition(r, now, policy);
  const { s, out, go, decide } = t;

  if (!ACTIVE.has(r.phase)) return ev.type === 'command' ? t.reject(`the rollout is already ${r.phase}`) : out;
  if (s.ending && ev.type !== 'promoted' && ev.type !== 'retired' && ev.type !== 'machinery_failed' && ev.type !== 'restarted') {
    return ev.type === 'command' ? t.reject(`the rollout is finishing (${s.ending.phase})`) : out;
  }

  switch (ev.type) {
    case 'restarted':
      return restarted(t);
    case 'candidates_live': {
      if (s.awaitingCandidates) return candidatesBack(t);
      if (r.phase !== 'deploying') return out;
      if (s.awaitingBudget) go(r.phase, { reason: null }, { awaitingBudget: undefined });
      const notes = ev.notes?.length ? `; ${ev.notes.join('; ')}` : '';
      decide({
        rule: 'candidates_live',
        observed: r.groups.length,
        threshold: null,
        sample: null,
        verdict: 'advance',
        reason: `${describeCandidates(r)} ${answer(r)} /ping at 0% traffic${notes}`,
      });
      return enterGate(t, r, 0);
    }
    case 'candidates_failed': {
      if (s.awaitingCandidates) {
        // Live traffic had moved (a shift, or one paused): take it back; before that, the gates had not passed.
        const shifted = r.phase === 'shifting' || r.pausedFrom === 'shifting';
        const reason =
          s.awaitingCandidates.cause === 'restart' ? `the daemon restarted and a candidate did not come back: ${ev.reason}` : ev.reason;
        decide({ rule: 'candidates_live', observed: null, threshold: null, sample: null, verdict: shifted ? 'rollback' : 'block', reason });
        if (shifted) t.rollBack(reason);
        else t.finish('blocked', reason, { type: 'retire_candidates' });
        return out;
      }
      if (r.phase !== 'deploying') return out;
      decide({ rule: 'candidates_live', observed: null, threshold: null, sample: null, verdict: 'block', reason: ev.reason });
      t.finish('blocked', ev.reason, { type: 'retire_candidates' });
      return out;
    }
    case 'over_budget':
      return overBudget(t, ev);
    case 'gate_done': {
      if (r.phase !== GATE_PHASE[ev.gate]) return out; // a late result of a cancelled gate
      const o = ev.outcome;
      go(r.phase, {}, { gates: { ...s.gates, [ev.gate]: o } });
      decide({
        rule: ev.gate,
        observed: o.observed ?? null,
        threshold: o.threshold ?? null,
        sample: o.sample ?? null,
        verdict: o.passed ? (o.skipped ? 'skip' : 'advance') : 'block',
        reason: o.summary,
      });
      if (!o.passed) {
        t.finish('blocked', o.summary, { type: 'retire_candidates' });
        return out;
      }
      return enterGate(t, out.next, GATES.indexOf(ev.gate) + 1);
    }
    case 'watch': {
      const watching = r.phase === 'shifting' || (r.phase === 'paused' && r.pausedFrom === 'shifting');
      if (!watching || r.candidateWeight === 0) return out;
      const smp = ev.sample;
      if (smp.requests < policy.minRequests) return out;
      if (smp.errorRate > policy.errorRateAbove) {
        const reason = `error rate ${pct(smp.errorRate)} on ${smp.group} (${smp.errors} of the ${smp.requests} requests of the ${smp.window} window) is above ${pct(policy.errorRateAbove)}: rolling back`;
        decide({
          rule: 'error_rate',
          observed: smp.errorRate,
          threshold: policy.errorRateAbove,
          sample: { group: smp.group, window: smp.window, requests: smp.requests, errors: smp.errors },
          verdict: 'rollback',
          reason,
        });
        t.rollBack(reason);
      } else if (policy.latencyP99AboveMs !== null && smp.p99Ms !== null && smp.p99Ms > policy.latencyP99AboveMs) {
        const reason = `p99 latency ${smp.p99Ms.toFixed(0)} ms on ${smp.group} is above ${policy.latencyP99AboveMs} ms: rolling back`;
        decide({
          rule: 'latency_p99',
          observed: smp.p99Ms,
          threshold: policy.latencyP99AboveMs,
          sample: { group: smp.group, window: smp.window, requests: smp.requests },
          verdict: 'rollback',
          reason,
        });
        t.rollBack(reason);
      }
      return out;
    }
    case 'candidates_down': {
      if (r.phase !== 'shifting' || s.awaitingCandidates) return out;
      const since = lastObservedAt(r);
      const watched = Math.max(0, since - stepStartOf(r));
      decide({
        rule: 'candidates_live',
        observed: { watchedMs: watched },
        threshold: { stepIntervalMs: policy.stepIntervalMs },
        sample: { lastObservedAt: since },
        verdict: 'hold',
        reason: `${ev.reason}: the step at ${formatPercent(r.candidateWeight)} stands still, watched ${duration(watched)} of ${duration(policy.stepIntervalMs)}, until it answers /ping again`,
      });
      go('shifting', {}, { awaitingCandidates: { since, cause: 'down' } });
      out.effects.push({ type: 'await_candidates' });
      return out;
    }
    case 'observed': {
      if (r.phase !== 'shifting' || s.awaitingCandidates) return out;
      const w = watchOf(r, now);
      go('shifting', {}, { watch: { ...w, observedAt: now, requests: w.requests + ev.requests, errors: w.errors + ev.errors } });
      return out;
    }
    case 'tick': {
      if (r.phase === 'deploying' && s.awaitingBudget) {
        out.effects.push({ type: 'start_candidates' }); // room in the budget yet? over_budget again if not
        return out;
      }
      if (r.phase !== 'shifting' || s.awaitingCandidates) return out;
      const due = stepStartOf(r) + policy.stepIntervalMs;
      if (now < due) {
        out.wakeAt = due;
        return out;
      }
      const weight = weightAfterStep(r, policy);
      const watched = watchedStep(r, now, policy);
      const nextWatch: StepWatch = { step: r.stepIndex + 1, observedAt: now, requests: 0, errors: 0 };
      if (weight >= 100) {
        decide({
          rule: 'step',
          observed: 100,
          threshold: 100,
          sample: watched.sample,
          verdict: 'promote',
          reason: `${watched.words}: the shift reached 100%, ${describeCandidates(r)} take all traffic`,
        });
        go('shifting', { candidateWeight: 100, stepIndex: r.stepIndex + 1 }, { stepStartedAt: now, watch: nextWatch });
        t.finish('promoted', 'promoted after the gradual shift', { type: 'promote' });
        return out;
      }
      decide({
        rule: 'step',
        observed: weight,
        threshold: 100,
        sample: watched.sample,
        verdict: 'advance',
        reason: `${watched.words}: traffic ${formatPercent(r.candidateWeight)} → ${formatPercent(weight)}`,
      });
      go('shifting', { candidateWeight: weight, stepIndex: r.stepIndex + 1 }, { stepStartedAt: now, watch: nextWatch });
      out.effects.push({ type: 'set_weight', weight });
      out.wakeAt = now + policy.stepIntervalMs;
      return out;
    }
    case 'promoted': {
      if (s.ending?.phase !== 'promoted') return out;
      go('promoted', { candidateWeight: 100, pausedFrom: null, reason: s.ending.reason, finishedAt: now });
      return out;
    }
    case 'retired': {
      if (!s.ending || s.ending.phase === 'promoted') return out;
      go(s.ending.phase, { candidateWeight: 0, pausedFrom: null, reason: s.ending.reason, finishedAt: now });
      return out;
    }
    case 'superseded': {
      const reason = `superseded by ${ev.by}: the older candidate is rolled back first`;
      decide({ rule: 'superseded', observed: ev.by, threshold: null, sample: null, verdict: 'rollback', reason });
      out.effects.push({ type: 'cancel_gate' });
      t.rollBack(reason);
      return out;
    }
    case 'machinery_failed': {
      decide({ rule: 'machinery', observed: null, threshold: null, sample: null, verdict: 'fail', reason: ev.reason });
      out.effects.push({ type: 'cancel_gate' });
      t.finish('failed', ev.reason, { type: 'retire_candidates' });
      return out;
    }
    case 'command':
      return command(t, ev);
  }
}

/**
 * The candidates do not fit in the server budget: the first refusal is recorded and the rollout waits,
 * trying again every few seconds (the servers of a promoted or rolled-back rollout make room); once it has
 * waited `serverBudgetWaitMs` it blocks, and the candidates it did start are retired.
 */
function overBudget(t: Transition, ev: Extract<RolloutEvent, { type: 'over_budget' }>): StepResult {
  const { r, s, now, policy, out } = t;
  if (r.phase !== 'deploying') return out;
  const wait = policy.serverBudgetWaitMs ?? SERVER_BUDGET_WAIT_MS;
  const sample = { servers: ev.servers, max: ev.max };
  if (s.awaitingBudget && now - s.awaitingBudget.since >= wait) {
    const reason = `${ev.reason}; no room after waiting ${duration(now - s.awaitingBudget.since)}: raise serving.max_servers or retire models, then deploy again`;
    t.decide({ rule: 'server_budget', observed: ev.servers, threshold: ev.max, sample, verdict: 'block', reason });
    t.finish('blocked', reason, { type: 'retire_candidates' });
    return out;
  }
  if (!s.awaitingBudget) {
    const reason = `${ev.reason}: waiting for room (at most ${duration(wait)}, serving.budget_wait_minutes)`;
    t.decide({ rule: 'server_budget', observed: ev.servers, threshold: ev.max, sample, verdict: 'wait', reason });
    t.go(r.phase, { reason }, { awaitingBudget: { since: now } });
  }
  out.wakeAt = now + Math.min(policy.serverBudgetRetryMs ?? SERVER_BUDGET_RETRY_MS, wait);
  return out;
}

/** Moves `r` (the rollout as the transition has it so far) to the first gate at or after `from` that has work; past the gates, to the shift. */
function enterGate(t: Transition, r: Rollout, from: number): StepResult {
  const { now, policy, out } = t;
  const gate = GATES[from];
  if (gate && !(gate === 'replay' && isFirstVersion(r))) {
    t.go(GATE_PHASE[gate]);
    out.effects.push({ type: 'run_gate', gate });
    return out;
  }
  if (isFirstVersion(r)) {
    t.decide({
      phase: r.phase,
      rule: 'first_version',
      observed: null,
      threshold: null,
      sample: null,
      verdict: 'promote',
      reason: 'first version: there is no current model, so replay and the gradual shift are skipped and it goes live at 100%',
    });
    t.finish('promoted', 'first version, live at 100%', { type: 'promote' });
    t.go(r.phase, { candidateWeight: 100 });
    return out;
  }
  if (policy.strategy === 'all_at_once') {
    t.decide({
      phase: r.phase,
      rule: 'strategy',
      observed: 'all_at_once',
      threshold: null,
      sample: null,
      verdict: 'promote',
      reason: 'strategy all_at_once: the gates passed, the candidate takes all traffic',
    });
    t.finish('promoted', 'promoted all at once', { type: 'promote' });
    t.go(r.phase, { candidateWeight: 100 });
    return out;
  }
  const weight = policy.initialTraffic > 0 ? policy.initialTraffic : Math.min(100, policy.stepPercent);
  t.decide({
    phase: 'shifting',
    rule: 'step',
    observed: weight,
    threshold: 100,
    sample: null,
    verdict: 'advance',
    reason: `gates passed: the candidate gets ${formatPercent(weight)} of the traffic, +${formatPercent(policy.stepPercent)} at each step`,
  });
  t.go(
    'shifting',
    { candidateWeight: weight, stepIndex: 0 },
    { stepStartedAt: now, watch: { step: 0, observedAt: now, requests: 0, errors: 0 } },
  );
  out.effects.push({ type: 'set_weight', weight });
  out.wakeAt = now + policy.stepIntervalMs;
  return out;
}

function command(t: Transition, ev: Extract<RolloutEvent, { type: 'command' }>): StepResult {
  const { r, s, now, policy, out } = t;
  const by = `by ${ev.actor}`;
  const manual = (verdict: Verdict, reason: string) =>
    t.decide({ rule: 'manual', observed: ev.command, threshold: null, sample: { actor: ev.actor }, verdict, reason });
  switch (ev.command) {
    case 'pause': {
      if (r.phase === 'paused') return t.reject('the rollout is already paused');
      if (r.phase === 'rolling_back') return t.reject('a rollback cannot be paused');
      manual('hold', `paused ${by} at ${formatPercent(r.candidateWeight)} traffic`);
      out.effects.push({ type: 'cancel_gate' });
      // A shift still waiting for its candidates: its clock stood still since then; the pause
      // freezes it from now on, so the time until now is set aside here.
      const waited =
        r.phase === 'shifting' && s.awaitingCandidates
          ? {
              stepStartedAt: stepStartOf(r) + (now - s.awaitingCandidates.since),
              awaitingCandidates: { ...s.awaitingCandidates, since: now },
            }
          : {};
      t.go('paused', { pausedFrom: r.phase as Rollout['pausedFrom'] }, { pausedAt: now, ...waited });
      return out;
    }
    case 'resume': {
      if (r.phase !== 'paused' || !r.pausedFrom) return t.reject(`only a paused rollout can be resumed (this one is ${r.phase})`);
      const from = r.pausedFrom;
      manual('resume', `resumed ${by}: back to ${from}`);
      if (from === 'shifting') {
        // The wait continues with the time it had left when paused (the paused phase began then); while the candidates are not live, only once they are.
        const started = stepStartOf(r) + (now - (s.pausedAt ?? r.phaseStartedAt));
        if (s.awaitingCandidates) {
          t.go(
            'shifting',
            { pausedFrom: null },
            { stepStartedAt: started, pausedAt: undefined, awaitingCandidates: { ...s.awaitingCandidates, since: now } },
          );
          return out;
        }
        t.go(
          'shifting',
          { pausedFrom: null },
          { stepStartedAt: started, pausedAt: undefined, watch: { ...watchOf(r, now), observedAt: now } },
        );
        out.wakeAt = started + policy.stepIntervalMs;
        return out;
      }
      t.go(from, { pausedFrom: null }, { pausedAt: undefined });
      // After a restart the gate runs once the candidates answer /ping again (candidates_live), not before.
      if (!s.awaitingCandidates)
        out.effects.push(from === 'deploying' ? { type: 'start_candidates' } : { type: 'run_gate', gate: gateOf(from)! });
      return out;
    }
    case 'promote': {
      const phase = r.phase === 'paused' ? r.pausedFrom : r.phase;
      if (phase === 'deploying') return t.reject('the candidates are not live yet: wait until the rollout leaves deploying');
      if (s.awaitingCandidates) return t.reject('the candidates are not live again yet: wait until they answer /ping');
      if (phase === 'rolling_back') return t.reject('the rollout is rolling back');
      manual(
        'promote',
        `promoted ${by} at ${formatPercent(r.candidateWeight)} traffic${phase !== 'shifting' ? ` (skipping ${phase} and what follows)` : ''}`,
      );
      out.effects.push({ type: 'cancel_gate' });
      t.go(r.phase, { candidateWeight: 100 });
      t.finish('promoted', `promoted ${by}`, { type: 'promote' });
      return out;
    }
    case 'rollback': {
      if (r.phase === 'rolling_back') return t.reject('the rollout is already rolling back');
      manual('rollback', `rolled back ${by} at ${formatPercent(r.candidateWeight)} traffic`);
      out.effects.push({ type: 'cancel_gate' });
      t.rollBack(`rolled back ${by}`);
      return out;
    }
  }
}

/**
 * The daemon came back with this rollout active. A finishing rollout finishes; otherwise the candidates' servers
 * are coming back (the serving restore started them) and nothing is judged until they answer /ping: a gate that
 * was running starts again then, and a shift's clock stands still from the last moment the watch observed.
 */
function restarted(t: Transition): StepResult {
  const { r, s, now, policy, out } = t;
  if (s.ending) {
    out.effects.push(s.ending.phase === 'promoted' ? { type: 'promote' } : { type: 'retire_candidates' });
    return out;
  }
  if (r.phase === 'deploying') {
    out.effects.push({ type: 'start_candidates' });
    return out;
  }
  if (r.phase === 'paused' && r.pausedFrom === 'deploying') return out; // resume starts them
  const since = s.awaitingCandidates?.since ?? (r.phase === 'shifting' ? lastObservedAt(r) : now);
  t.go(r.phase, {}, { awaitingCandidates: { since, cause: 'restart' } });
  out.effects.push({ type: 'set_weight', weight: r.candidateWeight }, { type: 'start_candidates' });
  const gate = gateOf(r.phase);
  if (gate) {
    t.decide({
      rule: 'restart',
      observed: null,
      threshold: null,
      sample: null,
      verdict: 'hold',
      reason: `the daemon restarted during ${r.phase}: the ${gateName(gate)} gate runs again from the start once ${describeCandidates(r)} and the current version answer /ping`,
    });
  } else if (r.phase === 'shifting') {
    const watched = Math.max(0, since - stepStartOf(r));
    t.decide({
      rule: 'restart',
      observed: { watchedMs: watched },
      threshold: { stepIntervalMs: policy.stepIntervalMs },
      sample: { lastObservedAt: since },
      verdict: 'hold',
      reason: `the daemon restarted at ${formatPercent(r.candidateWeight)}: this step had been watched ${duration(watched)} of ${duration(policy.stepIntervalMs)} (last observed ${duration(now - since)} ago); the rest is waited once ${describeCandidates(r)} ${answer(r)} /ping again`,
    });
  }
  return out;
}

/** The candidates answer /ping again (after a restart, or their servers went down): the gate runs again, or the shift's clock goes on. */
function candidatesBack(t: Transition): StepResult {
  const { r, s, now, policy, out } = t;
  const { since, cause } = s.awaitingCandidates!;
  const back = `${describeCandidates(r)} ${answer(r)} /ping again${cause === 'restart' ? ' after the restart' : ''}`;
  const gate = gateOf(r.phase);
  if (gate) {
    t.decide({
      rule: 'candidates_live',
      observed: r.groups.length,
      threshold: null,
      sample: null,
      verdict: 'resume',
      reason: `${back}: the ${gateName(gate)} gate runs again`,
    });
    t.go(r.phase, {}, { awaitingCandidates: undefined });
    out.effects.push({ type: 'run_gate', gate });
    return out;
  }
  if (r.phase !== 'shifting') {
    t.go(r.phase, {}, { awaitingCandidates: undefined }); // paused: the pause holds the clock
    return out;
  }
  const started = stepStartOf(r) + (now - since);
  const left = Math.max(0, started + policy.stepIntervalMs - now);
  t.decide({
    rule: 'candidates_live',
    observed: { unwatchedMs: now - since },
    threshold: null,
    sample: null,
    verdict: 'resume',
    reason: `${back}: the step at ${formatPercent(r.candidateWeight)} goes on with the ${duration(left)} it had left (not watched for ${duration(now - since)})`,
  });
  t.go('shifting', {}, { stepStartedAt: started, awaitingCandidates: undefined, watch: { ...watchOf(r, now), observedAt: now } });
  out.wakeAt = started + policy.stepIntervalMs;
  return out;
}

/**
 * The last moment the watch observed the current step: its last report, or the moment the step's clock last
 * started (a step begun, resumed or with its candidates back resets `watch.observedAt`, so the two never mix).
 */
function lastObservedAt(r: Rollout): number {
  const w = r.state.watch;
  return w?.step === r.stepIndex ? w.observedAt : stepStartOf(r);
}

/** The watch of the current step (a fresh one when the stored one is of an earlier step). */
function watchOf(r: Rollout, now: number): StepWatch {
  const w = r.state.watch;
  return w?.step === r.stepIndex ? w : { step: r.stepIndex, observedAt: now, requests: 0, errors: 0 };
}

/** What the watch saw of a step that is due: how long it watched, and the candidates' requests in that time. */
function watchedStep(
  r: Rollout,
  now: number,
  policy: RolloutPolicy,
): { words: string; sample: { watchedMs: number; requests: number; errors: number } } {
  const w = watchOf(r, now);
  // The clock ran only while the watch observed: a due step has been watched for its whole interval.
  const sample = { watchedMs: policy.stepIntervalMs, requests: w.requests, errors: w.errors };
  const few = w.requests < policy.minRequests ? `, fewer than min_requests (${policy.minRequests}) for an error-rate verdict` : '';
  const errors = w.errors ? `, ${w.errors} of them errors (${pct(w.errors / w.requests)})` : ', none of them errors';
  return {
    words: `watched ${duration(policy.stepIntervalMs)} at ${formatPercent(r.candidateWeight)} without a rollback: ${describeCandidates(r)} served ${w.requests} request${w.requests === 1 ? '' : 's'}${w.requests ? errors : ''}${few}`,
    sample,
  };
}

function gateName(gate: Gate): string {
  return gate.replace('_', ' ');
}

/** `900 ms`, `20 s`, `1.5 min`: durations in decision records, precise enough to check against the record's times. */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(1)} s`;
  return `${+(ms / 60_000).toFixed(2)} min`;
}

function gateOf(phase: RolloutPhase): Gate | undefined {
  return GATES.find((g) => GATE_PHASE[g] === phase);
}

function describeCandidates(r: Rollout): string {
  const versions = [...new Set(r.groups.map((g) => `v${g.candidate}`))];
  return r.groups.length === 1
    ? `${versions[0]} of ${r.groups[0]!.group}`
    : `the candidates (${r.groups.map((g) => `${g.group} v${g.candidate}`).join(', ')})`;
}

const answer = (r: Rollout) => (r.groups.length === 1 ? 'answers' : 'answer');
const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;
