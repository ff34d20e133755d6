/**
 * Runs rollouts: feeds events to the pure state machine, persists what it decides, records the
 * decisions, carries out the effects (variants, weights, gates) and wakes itself when a step of
 * the shift is due. Variants and weights are the serving platform's (daemon/platform/platform.ts):
 * which one serves a pipeline is not the controller's concern.
 *
 * The persisted rollout *is* the state: a restarted daemon calls `recover()`, which tells the
 * machine of each active rollout that the daemon restarted; it re-applies the effects (all
 * idempotent) and waits for the restored model servers before it judges anything again.
 *
 * Events for one rollout are handled one at a time, in order (a per-rollout queue), so an effect
 * finishing and a command arriving never race on the same saved state.
 *
 * When the database refuses a write (disk full), nothing of that step happened: the stored state is
 * unchanged, so the same event is stepped again a little later and makes its decision then. A
 * rollback cannot wait for the disk, though: its candidates get no traffic from that moment on (in
 * memory), and the rollback itself is stored and carried out once the write succeeds.
 */
import { isTerminalPhase } from '../../shared/domain.js';
import { describeError, MlpError } from '../../shared/errors.js';
import { formatPercent } from '../../shared/percent.js';
import type { Logger } from '../log.js';
import type { Clock } from '../scheduler/clock.js';
import type { NotificationOutbox } from '../notify/outbox.js';
import { PlatformFailure, type ServingPlatform } from '../platform/platform.js';
import type { StorageHealth } from '../storage-health.js';
import type { Store } from '../store/db.js';
import { isStorageUnavailable } from '../store/sqlite-errors.js';
import type { Rollout } from './rollout.js';
import { serverBudgetOf } from '../platform/budget.js';
import {
  step,
  type Effect,
  type Gate,
  type GateOutcome,
  type RolloutEvent,
  type RolloutPolicy,
  type StepResult,
  type WatchSample,
} from './machine.js';

export interface GateRunner {
  run(gate: Gate, rollout: Rollout, signal: AbortSignal): Promise<GateOutcome>;
}

export interface RolloutControllerDeps {
  store: Store;
  /** Reports refused writes; a decision that could not be stored is stepped again later. */
  storage: StorageHealth;
  log: Logger;
  /** Where the candidates serve, and what the watch reads of their traffic. */
  platform: ServingPlatform;
  gates: GateRunner;
  policyFor(pipeline: string): RolloutPolicy | undefined;
  /** Called after a rollout changed (the daemon republishes the pipeline). */
  onChanged(rollout: Rollout): void;
  /** Queues what a transition tells people, in the transaction that saves it (docs/notifications.md). */
  outbox?: NotificationOutbox;
  /** Stored times and the shift's wake-ups (a step is due); tests move a fake one. */
  clock: Clock;
  /** How often the live error-rate watch looks at the candidates' traffic. */
  watchEveryMs?: number;
  /**
   * How often the watch saves what it observed of a shift (when, and the candidates' requests): after a crash,
   * at most this much watched time is lost, and never is downtime counted as watched.
   */
  observeEveryMs?: number;
}

export interface RolloutController {
  /** Starts rolling out what a run trained; an active rollout of the pipeline is superseded first. */
  start(pipeline: string, runId: string | null, groups: { group: string; version: number }[]): Promise<Rollout>;
  /** An operator's command; rejects with a conflict when it does not fit the phase. */
  command(pipeline: string, command: 'promote' | 'rollback' | 'pause' | 'resume', actor: string): Promise<Rollout>;
  /** Picks up every active rollout after a (re)start. */
  recover(): void;
  close(): Promise<void>;
}

export function createRolloutController(deps: RolloutControllerDeps): RolloutController {
  const { store, log, platform, clock } = deps;
  const now = () => clock.now();
  const queues = new Map<number, Promise<unknown>>();
  const gatesRunning = new Map<number, AbortController>();
  /** Cancels each rollout's pending wake-up. */
  const wakeUps = new Map<number, () => void>();
  const settled = new Map<number, () => void>();
  const retries = new Map<string, NodeJS.Timeout>();
  let closed = false;

  /** Calls `again` once storage has had time to recover; a newer retry under the same key replaces it (cancelled by close). */
  const later = (key: string, again: () => void) => {
    clearTimeout(retries.get(key));
    const timer = setTimeout(() => {
      retries.delete(key);
      if (!closed) again();
    }, deps.storage.retryEveryMs);
    retries.set(key, timer);
  };

  /** Serialises work per rollout. */
  const enqueue = <T>(id: number, work: () => Promise<T>): Promise<T> => {
    const next = (queues.get(id) ?? Promise.resolve()).then(work, work);
    queues.set(
      id,
      next.catch(() => undefined),
    );
    return next;
  };

  const policyOf = (r: Rollout): RolloutPolicy => {
    const p = deps.policyFor(r.pipeline);
    if (!p) throw new MlpError('not_found', `pipeline '${r.pipeline}' is no longer in force`);
    return p;
  };

  /** Applies one event: step, save, record, publish (not for the watch's routine reports), then run the effects. */
  const dispatch = (id: number, ev: RolloutEvent) =>
    enqueue(id, async () => {
      if (closed) return undefined;
      const r = store.rollouts.get(id);
      if (!r) return undefined;
      let result: StepResult;
      try {
        result = step(r, ev, now(), policyOf(r));
      } catch (err) {
        result = step(r, { type: 'machinery_failed', reason: describeError(err) }, now(), FALLBACK_POLICY);
      }
      if (result.rejected)
        throw new MlpError('conflict', `${r.pipeline}: cannot ${ev.type === 'command' ? ev.command : ev.type}: ${result.rejected}`);
      let saved: Rollout;
      try {
        saved = persist(r, result, ev.type !== 'observed');
      } catch (err) {
        if (!deps.storage.failed(err)) throw err;
        return unstored(r, ev, result, err);
      }
      deps.storage.succeeded();
      apply(saved, result.effects, result.wakeAt);
      return saved;
    });

  /** A step whose write storage refused: keep the event for later, and a rollback's candidates out of traffic now. */
  const unstored = (r: Rollout, ev: RolloutEvent, result: StepResult, err: unknown): undefined => {
    const rollingBack = result.next.phase === 'rolling_back' && r.phase !== 'rolling_back';
    if (rollingBack) platform.holdCandidates(r.pipeline);
    // The watch sends a fresh sample ten times a second; only the one that decided a rollback is kept.
    const key = `${r.id} ${ev.type}${ev.type === 'command' ? ` ${ev.command}` : ''}`;
    if (ev.type !== 'watch' || rollingBack)
      later(key, () => void dispatch(r.id, ev).catch((e) => log.error('rollout', describeError(e), r.pipeline)));
    if (ev.type === 'command') {
      throw new MlpError(
        'unavailable',
        `${r.pipeline}: cannot store the ${ev.command} (${describeError(err)}): it is retried every ${deps.storage.retryEveryMs / 1000}s and carried out once the database accepts writes${rollingBack ? '; the candidates get no traffic meanwhile' : ''}`,
      );
    }
    return undefined;
  };

  const persist = (r: Rollout, result: StepResult, publish: boolean): Rollout => {
    const at = now();
    const saved = store.transaction(() => {
      const s = result.next === r ? r : store.rollouts.save(result.next, { expectedVersion: r.version, at });
      for (const d of result.decisions) store.decisions.record(r.id, { at, ...d });
      deps.outbox?.rolloutChanged(r, s);
      return s;
    });
    for (const d of result.decisions) log.info('rollout', `${d.phase}: ${d.verdict}: ${d.reason}`, r.pipeline);
    if (saved.phase !== r.phase) log.info('rollout', `#${r.id} ${r.phase} → ${saved.phase}`, r.pipeline);
    if (publish && (result.next !== r || result.decisions.length)) deps.onChanged(saved);
    if (isTerminalPhase(saved.phase)) {
      settled.get(saved.id)?.();
      settled.delete(saved.id);
      wakeUps.get(saved.id)?.();
      wakeUps.delete(saved.id);
    }
    return saved;
  };

  /** Carries out effects in the background; each reports back with an event. */
  const apply = (r: Rollout, effects: Effect[], wakeAt?: number) => {
    if (wakeAt !== undefined) schedule(r.id, wakeAt);
    for (const effect of effects) void run(r, effect);
  };

  const run = async (r: Rollout, effect: Effect): Promise<void> => {
    try {
      switch (effect.type) {
        case 'start_candidates': {
          let notes: (string | null)[];
          try {
            notes = await Promise.all(r.groups.map((g) => platform.startCandidate(r.pipeline, g.group, g.candidate)));
          } catch (err) {
            if (isStorageUnavailable(err)) throw err; // not the candidate's fault: tried again below
            const budget = serverBudgetOf(err);
            if (budget) {
              await dispatch(r.id, { type: 'over_budget', reason: describeError(err), ...budget });
              return;
            }
            await dispatch(r.id, candidatesFailed(err));
            return;
          }
          await dispatch(r.id, { type: 'candidates_live', notes: notes.filter((n): n is string => n !== null) });
          return;
        }
        case 'run_gate': {
          gatesRunning.get(r.id)?.abort();
          const controller = new AbortController();
          gatesRunning.set(r.id, controller);
          let outcome: GateOutcome;
          try {
            outcome = await deps.gates.run(effect.gate, r, controller.signal);
          } catch (err) {
            if (controller.signal.aborted) return;
            outcome = { passed: false, summary: `the ${effect.gate.replace('_', ' ')} gate could not run: ${describeError(err)}` };
          } finally {
            if (gatesRunning.get(r.id) === controller) gatesRunning.delete(r.id);
          }
          if (!controller.signal.aborted) await dispatch(r.id, { type: 'gate_done', gate: effect.gate, outcome });
          return;
        }
        case 'await_candidates': {
          try {
            await platform.candidatesBack(r.pipeline);
          } catch (err) {
            await dispatch(r.id, candidatesFailed(err));
            return;
          }
          await dispatch(r.id, { type: 'candidates_live' });
          return;
        }
        case 'cancel_gate':
          gatesRunning.get(r.id)?.abort();
          gatesRunning.delete(r.id);
          return;
        case 'set_weight':
          await platform.setCandidateWeight(r.pipeline, effect.weight);
          return;
        case 'promote':
          await platform.promoteCandidates(r.pipeline);
          await dispatch(r.id, { type: 'promoted' });
          return;
        case 'retire_candidates':
          await platform.retireCandidates(r.pipeline);
          await dispatch(r.id, { type: 'retired' });
          return;
      }
    } catch (err) {
      if (closed) return;
      if (deps.storage.failed(err)) {
        // Effects are idempotent: run it again unless the rollout moved on meanwhile.
        later(`${r.id} effect ${effect.type}`, () => {
          if (store.rollouts.get(r.id)?.version === r.version) void run(r, effect);
        });
        return;
      }
      log.error('rollout', `${effect.type} failed: ${describeError(err)}`, r.pipeline);
      if (effect.type !== 'retire_candidates')
        await dispatch(r.id, { type: 'machinery_failed', reason: `${effect.type} failed: ${describeError(err)}` }).catch(() => {});
    }
  };

  const schedule = (id: number, at: number) => {
    wakeUps.get(id)?.();
    const cancel = clock.wakeAt(at, () => {
      wakeUps.delete(id);
      // The step's decision counts the requests seen up to this moment.
      const r = store.rollouts.get(id);
      if (r) void report(r);
      void dispatch(id, { type: 'tick' }).catch((err) => log.error('rollout', describeError(err)));
    });
    wakeUps.set(id, cancel);
  };

  /** The candidates' request totals per group when the watch last reported, per rollout (the platform's counts are not stored). */
  const reported = new Map<number, Map<string, { requests: number; errors: number }>>();

  /** Tells the machine what the watch observed of a shift since its last report: this is what makes the time count. */
  const report = (r: Rollout): Promise<unknown> => {
    const before = reported.get(r.id) ?? new Map<string, { requests: number; errors: number }>();
    const totals = new Map<string, { requests: number; errors: number }>();
    let requests = 0;
    let errors = 0;
    for (const g of r.groups) {
      const variant = `v${g.candidate}`;
      const total = platform.variantTraffic(r.pipeline, g.group, variant)?.total ?? { requests: 0, errors: 0 };
      // A candidate started again counts from zero.
      const last = before.get(g.group) ?? { requests: 0, errors: 0 };
      const fresh = total.requests < last.requests;
      requests += fresh ? total.requests : total.requests - last.requests;
      errors += fresh ? total.errors : total.errors - last.errors;
      totals.set(g.group, { ...total });
    }
    reported.set(r.id, totals);
    // Paused: the counts move on without counting (a pause stops the step's clock, so its requests are not the step's).
    if (r.phase !== 'shifting') return Promise.resolve();
    // A candidate that is not live cannot be observed: its time does not count (the machine stops the clock once).
    const down = platform.candidatesDown(r.pipeline);
    const ev: RolloutEvent = down ? { type: 'candidates_down', reason: down } : { type: 'observed', requests, errors };
    return dispatch(r.id, ev).catch((err) => log.error('rollout', describeError(err), r.pipeline));
  };
  const inShift = (r: Rollout) => r.phase === 'shifting' || (r.phase === 'paused' && r.pausedFrom === 'shifting');
  const reportAll = () => Promise.all(store.rollouts.listActive().filter(inShift).map(report));
  const observer = setInterval(() => void reportAll(), deps.observeEveryMs ?? 1_000);
  observer.unref();

  // The live error-rate watch: the candidates' own requests, continuously, not at step ends.
  const watch = setInterval(() => {
    for (const r of store.rollouts.listActive()) {
      if (!inShift(r) || r.candidateWeight === 0) continue;
      const policy = deps.policyFor(r.pipeline);
      if (!policy) continue;
      const worst = worstGroup(r, policy.minRequests);
      if (worst) void dispatch(r.id, { type: 'watch', sample: worst }).catch(() => {});
    }
  }, deps.watchEveryMs ?? 100);
  watch.unref();

  /**
   * The worst of every group's windows (on mlpd's router: the last 60 s, and the last 1,000 requests;
   * the count window reacts within a few dozen failures even after a long healthy stretch fills the
   * time window with good requests); windows below min_requests cannot give a verdict.
   */
  const worstGroup = (r: Rollout, minRequests: number): WatchSample | undefined => {
    const samples: WatchSample[] = [];
    for (const g of r.groups) {
      const traffic = platform.variantTraffic(r.pipeline, g.group, `v${g.candidate}`);
      for (const w of traffic?.windows ?? []) {
        if (w.requests >= minRequests)
          samples.push({ group: g.group, window: w.name, requests: w.requests, errors: w.errors, errorRate: w.errorRate, p99Ms: w.p99Ms });
      }
    }
    const badness = (x: WatchSample) => [x.errorRate, x.p99Ms ?? 0] as const;
    return samples.reduce<WatchSample | undefined>((worst, x) => {
      if (!worst) return x;
      const [e1, l1] = badness(x);
      const [e2, l2] = badness(worst);
      return e1 > e2 || (e1 === e2 && l1 > l2) ? x : worst;
    }, undefined);
  };

  return {
    async start(pipeline, runId, groups) {
      const active = store.rollouts.active(pipeline);
      if (active) {
        const done = new Promise<void>((resolve) => settled.set(active.id, resolve));
        await dispatch(active.id, { type: 'superseded', by: runId ? `run ${runId}` : 'a newer version' });
        await done;
      }
      const rolloutGroups = groups.map((g) => ({
        group: g.group,
        candidate: g.version,
        current: store.variants.live(pipeline).find((v) => v.group === g.group && v.role === 'current')?.version ?? null,
      }));
      const r = store.rollouts.create({ pipeline, runId, groups: rolloutGroups, at: now() });
      log.info(
        'rollout',
        `#${r.id} started: ${rolloutGroups.map((g) => `${g.group} ${g.current ? `v${g.current} → ` : ''}v${g.candidate}`).join(', ')}`,
        pipeline,
      );
      deps.onChanged(r);
      apply(r, [{ type: 'start_candidates' }]);
      return r;
    },
    async command(pipeline, command, actor) {
      const r = store.rollouts.active(pipeline);
      if (!r) throw new MlpError('conflict', `${pipeline} has no active rollout to ${command} (mlp status shows its last one)`);
      return (await dispatch(r.id, { type: 'command', command, actor }))!;
    },
    recover() {
      for (const r of store.rollouts.listActive()) {
        // A rollout whose pipeline left the repo fails there, with that reason (dispatch).
        log.info('rollout', `#${r.id} resumes in ${r.phase} at ${formatPercent(r.candidateWeight)}`, r.pipeline);
        void dispatch(r.id, { type: 'restarted' }).catch((err) => log.error('rollout', describeError(err), r.pipeline));
      }
    },
    async close() {
      clearInterval(observer);
      clearInterval(watch);
      // A clean stop saves what the watch observed up to now: after the restart the shift goes on from here.
      await reportAll();
      closed = true;
      for (const cancel of wakeUps.values()) cancel();
      for (const t of retries.values()) clearTimeout(t);
      for (const g of gatesRunning.values()) g.abort();
      await Promise.allSettled([...queues.values()]);
    },
  };
}

/** A candidate that did not start blocks the rollout; the serving platform failing (AWS refused a call) fails it. */
const candidatesFailed = (err: unknown): RolloutEvent =>
  err instanceof PlatformFailure
    ? { type: 'machinery_failed', reason: describeError(err) }
    : { type: 'candidates_failed', reason: describeError(err) };

/** Used only to fail a rollout whose pipeline left the repo. */
const FALLBACK_POLICY: RolloutPolicy = {
  strategy: 'gradual',
  initialTraffic: 0,
  stepPercent: 10,
  stepIntervalMs: 60_000,
  errorRateAbove: 0.05,
  minRequests: 50,
  latencyP99AboveMs: null,
};
