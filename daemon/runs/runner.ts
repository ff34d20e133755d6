/**
 * Executes one run of a pipeline: its steps in order, once per group, groups in parallel up to
 * `groups.parallelism`. A group stops at its first failed step; the other groups go on. What
 * `train` leaves in the model dir becomes the group's next model version.
 *
 * The runner records everything in the store (run, step runs, logs, model versions) and reports
 * progress to a listener; it never decides *when* a run happens (the scheduler and the queue do).
 */
import { TRAIN_STEP, type PipelineConfig, type Step } from '../../shared/config/schema.js';
import { describeError } from '../../shared/errors.js';
import type { Executor, StepOutcome } from '../executors/executor.js';
import type { LogWriter } from '../log-writer.js';
import type { Store } from '../store/db.js';
import type { ModelVersion } from '../store/model-versions.js';
import type { Run } from '../store/runs.js';
import { registerModelVersion } from './artifacts.js';
import { pruneRuns, recordLastOutput, stepDirs } from './workspace.js';

/** Steps without a limit of their own (other than train) stop after a day. */
export const DEFAULT_STEP_TIMEOUT_MS = 24 * 3_600_000;

export interface RunPlan {
  runId: string;
  pipeline: { name: string; dir: string; config: PipelineConfig };
  groups: string[];
  /** Only these steps (`mlp run <step>`); default: all, in order. */
  only?: string[];
  executor: Executor;
  gitCommit: string | null;
  /** Every configured duration is divided by this (`--time-scale`). */
  timeScale?: number;
}

export interface GroupResult {
  group: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  /** The failed step's reason. */
  reason: string | null;
  version: ModelVersion | null;
  /** The step the group stopped at, and its last output lines (failed or cancelled). */
  step?: string;
  tail?: string[];
}

export interface RunResult {
  status: 'succeeded' | 'failed' | 'cancelled';
  reason: string | null;
  groups: GroupResult[];
}

export interface RunListener {
  stepStarted?(group: string, step: string): void;
  stepFinished?(group: string, step: string, outcome: StepOutcome, durationMs: number): void;
  line?(group: string, step: string, stream: 'stdout' | 'stderr', line: string): void;
  versioned?(version: ModelVersion): void;
}

export interface RunnerDeps {
  store: Store;
  dataDir: string;
  logs: LogWriter;
  now?: () => number;
  /** Called inside the transaction that records the run's end: what it writes (the notification outbox) lands with it. */
  onRecorded?(run: Run, result: RunResult): void;
}

/** The step's time limit: its own, else `training.timeout_hours` for train, else a day. */
export function stepTimeoutMs(step: Step, config: PipelineConfig, timeScale = 1): number {
  const ms =
    step.timeout_minutes !== undefined
      ? step.timeout_minutes * 60_000
      : step.name === TRAIN_STEP
        ? config.pipeline.training.timeout_hours * 3_600_000
        : DEFAULT_STEP_TIMEOUT_MS;
  return Math.max(1, Math.round(ms / timeScale));
}

export async function executeRun(
  plan: RunPlan,
  deps: RunnerDeps,
  listener: RunListener = {},
  signal: AbortSignal = new AbortController().signal,
): Promise<RunResult> {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  const config = plan.pipeline.config;
  const allSteps = config.pipeline.steps;
  const steps = plan.only ? allSteps.filter((s) => plan.only!.includes(s.name)) : allSteps;

  store.runs.setStatus(plan.runId, 'running', { gitCommit: plan.gitCommit, at: now() });

  const runGroup = async (group: string): Promise<GroupResult> => {
    let version: ModelVersion | null = null;
    for (const step of steps) {
      if (signal.aborted) return { group, status: 'cancelled', reason: 'the run was cancelled', version };
      const index = allSteps.indexOf(step);
      const previous = index > 0 ? allSteps[index - 1]!.name : null;
      const dirs = stepDirs(deps.dataDir, plan.pipeline.name, group, plan.runId, step.name, previous);
      const stepRun = store.stepRuns.start({ runId: plan.runId, step: step.name, group, executor: plan.executor.kind, at: now() });
      listener.stepStarted?.(group, step.name);
      const started = now();
      let outcome: StepOutcome;
      try {
        outcome = await plan.executor.run(
          {
            pipeline: plan.pipeline.name,
            pipelineDir: plan.pipeline.dir,
            step: step.name,
            command: step.command,
            group,
            runId: plan.runId,
            timeoutMs: stepTimeoutMs(step, config, plan.timeScale),
            isTrain: step.name === TRAIN_STEP,
            dirs,
            ...(config.pipeline.image ? { image: config.pipeline.image } : {}),
            instanceType: config.pipeline.training.instance_type,
            env: { MLP_PIPELINE: plan.pipeline.name, MLP_STEP: step.name },
          },
          {
            signal,
            onLine(stream, line) {
              deps.logs.write({ at: now(), pipeline: plan.pipeline.name, runId: plan.runId, step: step.name, group, stream, line });
              listener.line?.(group, step.name, stream, line);
            },
          },
        );
      } catch (err) {
        outcome = { status: 'failed', exitCode: null, reason: describeError(err), tail: [] };
      }

      if (outcome.status === 'succeeded' && step.name === TRAIN_STEP) {
        try {
          version = registerModelVersion({
            store,
            dataDir: deps.dataDir,
            pipeline: plan.pipeline.name,
            group,
            runId: plan.runId,
            gitCommit: plan.gitCommit,
            modelDir: dirs.model,
            outputDir: dirs.output,
            ...(outcome.artifactUri ? { remoteUri: outcome.artifactUri } : {}),
          });
          listener.versioned?.(version);
        } catch (err) {
          outcome = { ...outcome, status: 'failed', reason: describeError(err) };
        }
      }
      if (outcome.status === 'succeeded') recordLastOutput(deps.dataDir, plan.pipeline.name, group, step.name, dirs.output);

      store.stepRuns.finish(stepRun.id, {
        status: outcome.status === 'timed_out' ? 'failed' : outcome.status,
        exitCode: outcome.exitCode,
        reason: outcome.reason,
        at: now(),
      });
      listener.stepFinished?.(group, step.name, outcome, now() - started);
      if (outcome.status !== 'succeeded') {
        return {
          group,
          status: outcome.status === 'cancelled' ? 'cancelled' : 'failed',
          reason: outcome.reason,
          version,
          step: step.name,
          tail: outcome.tail,
        };
      }
    }
    return { group, status: 'succeeded', reason: null, version };
  };

  const results = await inParallel(plan.groups, config.pipeline.groups.parallelism, runGroup);
  deps.logs.flush();
  for (const group of plan.groups) pruneRuns(deps.dataDir, plan.pipeline.name, group);

  const result = summarise(results, signal.aborted);
  store.transaction(() => {
    const run = store.runs.setStatus(plan.runId, result.status, { reason: result.reason, at: now() });
    deps.onRecorded?.(run, result);
  });
  return result;
}

function summarise(groups: GroupResult[], aborted: boolean): RunResult {
  const failed = groups.filter((g) => g.status === 'failed');
  if (aborted || groups.some((g) => g.status === 'cancelled')) return { status: 'cancelled', reason: 'the run was cancelled', groups };
  if (failed.length === 0) return { status: 'succeeded', reason: null, groups };
  const what = groups.length === 1 ? '' : `${failed.length} of ${groups.length} groups failed: `;
  const reason = what + failed.map((g) => (groups.length === 1 ? g.reason : `${g.group}: ${g.reason}`)).join('; ');
  return { status: 'failed', reason, groups };
}

/** Runs `work` over `items`, at most `limit` at a time, keeping the order of results. */
async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
