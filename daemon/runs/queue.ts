/**
 * The daemon's run queue: starts queued runs (from the scheduler, `mlp deploy`, a merged change)
 * as capacity allows (runs.max_parallel here, runs.max_parallel_cloud on SageMaker), one run per
 * pipeline at a time, round robin by pipeline (fairness.ts), and recovers after a restart.
 *
 * Recovery rule: a run the store says was `running` when the daemon died cannot be resumed; it is
 * marked failed, and so are its steps still `running`, saying what became of their processes (the
 * daemon stopped them at the restart, or they had ended). Runs still `queued` start.
 */
import { describeError } from '../../shared/errors.js';
import type { EventBus } from '../events.js';
import type { Executor } from '../executors/executor.js';
import type { Logger } from '../log.js';
import type { LogWriter } from '../log-writer.js';
import type { ReapedChild } from '../children/reaper.js';
import type { StorageHealth } from '../storage-health.js';
import type { Store } from '../store/db.js';
import type { Run } from '../store/runs.js';
import { headCommit } from '../repo/git.js';
import type { InForcePipeline } from '../repo/reconcile.js';
import { runsToStart, startOrder, type QueuedRun, type RunLimits, type RunPlace } from './fairness.js';
import { interruptedRunReason, interruptedStepReason } from './interrupted.js';
import type { NotificationOutbox } from '../notify/outbox.js';
import { executeRun, type RunResult } from './runner.js';

export interface RunQueueDeps {
  store: Store;
  /** A run's end that storage refused (disk full) waits here and is written once it can be. */
  storage: StorageHealth;
  dataDir: string;
  logs: LogWriter;
  log: Logger;
  bus: EventBus;
  pipeline(name: string): InForcePipeline | undefined;
  /** Groups to run, discovered fresh for each run. */
  groups(p: InForcePipeline): Promise<string[]>;
  executorFor(p: InForcePipeline): Executor;
  repoRoot: string;
  timeScale: number;
  /** Runs at once across pipelines, on this machine and on SageMaker; asked whenever a run could start. */
  limits(): RunLimits;
  publishRun(run: Run): void;
  /** Called when a run has finished (e.g. to start a rollout of what it trained). */
  onFinished?(run: Run, result: RunResult): void;
  /** Queues the notification of a failed run, in the transaction that records the failure. */
  outbox?: Pick<NotificationOutbox, 'runFailed'>;
}

export interface RunQueue {
  /** Starts queued runs if there is room (call after enqueueing). */
  pump(): void;
  /** Runs going now by where their steps run, and the queued runs' ids in the order they will start. */
  load(): { running: Record<RunPlace, number>; queued: string[] };
  /** Marks runs of a dead daemon failed (with what became of their steps' processes) and starts the queued ones. */
  recover(reaped: readonly ReapedChild[]): void;
  /** Cancels running runs and waits for them to end. */
  stop(): Promise<void>;
}

export function createRunQueue(deps: RunQueueDeps): RunQueue {
  const running = new Map<string, { controller: AbortController; done: Promise<void>; pipeline: string; place: RunPlace }>();
  let stopped = false;
  /** When each pipeline last started a run (a counter, not a clock: only the order matters). */
  const lastStarted = new Map<string, number>();
  let starts = 0;

  const placeOf = (name: string): RunPlace => {
    const p = deps.pipeline(name);
    return p && deps.executorFor(p).kind === 'cloud' ? 'cloud' : 'here';
  };
  const queuedInOrder = (): QueuedRun[] =>
    startOrder(
      deps.store.runs
        .active()
        .filter((r) => r.status === 'queued' && !running.has(r.id))
        .map((r) => ({ id: r.id, pipeline: r.pipeline, createdAt: r.createdAt, place: placeOf(r.pipeline) })),
      (name) => lastStarted.get(name),
    );

  function start(run: Run, place: RunPlace) {
    const pipeline = deps.pipeline(run.pipeline);
    if (!pipeline) {
      deps.storage.write(`run ${run.id}`, () =>
        deps.store.runs.setStatus(run.id, 'cancelled', { reason: `pipeline '${run.pipeline}' is no longer in the repo` }),
      );
      deps.publishRun(deps.store.runs.get(run.id)!);
      return;
    }
    const controller = new AbortController();
    const done = (async () => {
      try {
        const groups = await deps.groups(pipeline);
        if (groups.length === 0) throw new Error('no groups to run: the groups source returned none');
        const executor = deps.executorFor(pipeline);
        deps.log.info(
          'run',
          `${run.id} started (${run.trigger}, ${groups.length} group${groups.length === 1 ? '' : 's'}, ${executor.kind})`,
          run.pipeline,
        );
        const result = await executeRun(
          {
            runId: run.id,
            pipeline,
            groups,
            executor,
            gitCommit: await headCommit(deps.repoRoot),
            timeScale: deps.timeScale,
          },
          {
            store: deps.store,
            dataDir: deps.dataDir,
            logs: deps.logs,
            onRecorded: (ended, result) => {
              if (result.status !== 'failed') return;
              const failed = result.groups.filter((g) => g.status === 'failed');
              deps.outbox?.runFailed(
                ended,
                failed.map((g) => ({ group: g.group, step: g.step ?? null, reason: g.reason ?? 'failed', tail: g.tail ?? [] })),
              );
            },
          },
          {
            stepStarted: () => deps.publishRun(deps.store.runs.get(run.id)!),
            stepFinished: () => deps.publishRun(deps.store.runs.get(run.id)!),
            line: (group, step, stream, line) =>
              deps.bus.publish({ kind: 'log', at: Date.now(), pipeline: run.pipeline, runId: run.id, step, group, stream, line }),
            versioned: (v) => deps.log.info('run', `${run.id}: model version v${v.version} of group ${v.group}`, run.pipeline),
          },
          controller.signal,
        );
        const level = result.status === 'succeeded' ? 'info' : 'warn';
        deps.log[level]('run', `${run.id} ${result.status}${result.reason ? `: ${result.reason}` : ''}`, run.pipeline);
        const finished = deps.store.runs.get(run.id)!;
        deps.publishRun(finished);
        deps.onFinished?.(finished, result);
      } catch (err) {
        deps.log.error('run', `${run.id} failed to run: ${describeError(err)}`, run.pipeline);
        try {
          deps.storage.write(`run ${run.id}`, () => {
            const current = deps.store.runs.get(run.id);
            if (current && (current.status === 'queued' || current.status === 'running')) {
              deps.store.transaction(() => {
                const failed = deps.store.runs.setStatus(run.id, 'failed', { reason: describeError(err) });
                deps.outbox?.runFailed(failed, [{ group: null, step: null, reason: describeError(err), tail: [] }]);
              });
            }
          });
          deps.publishRun(deps.store.runs.get(run.id)!);
        } catch (e) {
          deps.log.error('run', `${run.id}: cannot record how it ended: ${describeError(e)}`, run.pipeline);
        }
      } finally {
        running.delete(run.id);
        pump();
      }
    })();
    running.set(run.id, { controller, done, pipeline: run.pipeline, place });
  }

  function pump() {
    if (stopped) return;
    for (const next of runsToStart(queuedInOrder(), [...running.values()], deps.limits())) {
      const run = deps.store.runs.get(next.id);
      if (run?.status !== 'queued') continue;
      lastStarted.set(run.pipeline, ++starts);
      start(run, next.place);
    }
  }

  return {
    pump,
    load() {
      const count: Record<RunPlace, number> = { here: 0, cloud: 0 };
      for (const r of running.values()) count[r.place]++;
      return { running: count, queued: queuedInOrder().map((r) => r.id) };
    },
    recover(reaped) {
      for (const run of deps.store.runs.active()) {
        if (run.status !== 'running' || running.has(run.id)) continue;
        const children = reaped.filter((c) => c.entry.purpose.run?.id === run.id);
        deps.store.transaction(() => {
          const failures = [];
          for (const s of deps.store.stepRuns.listByRun(run.id).filter((x) => x.status === 'running')) {
            const child = children.find((c) => c.entry.purpose.run!.step === s.step && c.entry.purpose.run!.group === s.group);
            const reason = interruptedStepReason(child);
            deps.store.stepRuns.finish(s.id, { status: 'failed', reason });
            failures.push({ group: s.group, step: s.step, reason, tail: [] });
          }
          deps.outbox?.runFailed(deps.store.runs.setStatus(run.id, 'failed', { reason: interruptedRunReason(children) }), failures);
        });
        deps.log.warn('run', `${run.id} was running when mlpd stopped: marked failed`, run.pipeline);
      }
      pump();
    },
    async stop() {
      stopped = true;
      for (const { controller } of running.values()) controller.abort();
      await Promise.all([...running.values()].map((r) => r.done));
    },
  };
}
