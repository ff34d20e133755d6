/**
 * With `--pull`, merging is deploying: a merged change to a pipeline's folder (config or code)
 * queues a run of that pipeline once the new config is in force (README.md, "--pull").
 */
import { resolve, sep } from 'node:path';
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import type { PullResult } from '../repo/pull.js';
import type { InForcePipeline } from '../repo/reconcile.js';
import type { Store } from '../store/db.js';

/**
 * The pipelines a merge touched that it should run. One whose latest edit is invalid is left alone
 * (its last valid config, which the change is not, stays in force); one Airflow orchestrates is
 * trained by its DAG, on Airflow's schedule.
 */
export function pipelinesToRun(pipelines: InForcePipeline[], root: string, changedFiles: string[]): InForcePipeline[] {
  const changed = changedFiles.map((f) => resolve(root, f));
  return pipelines.filter(
    (p) => p.problems.length === 0 && p.config.pipeline.orchestrator !== 'airflow' && changed.some((f) => f.startsWith(p.dir + sep)),
  );
}

/** What the puller calls after each fast-forward: reload the repo, queue a run of each pipeline touched, start them. */
export function runsOnMerge(deps: {
  root: string;
  store: Store;
  log: Logger;
  /** Reads the repo again and brings the merged configs into force. */
  reload(): Promise<unknown>;
  pipelines(): InForcePipeline[];
  /** Starts queued runs the limits allow. */
  pump(): void;
}): (result: PullResult) => void {
  const queueRuns = async (result: PullResult) => {
    await deps.reload();
    for (const p of pipelinesToRun(deps.pipelines(), deps.root, result.changedFiles)) {
      const { run } = deps.store.runs.enqueue({
        pipeline: p.name,
        trigger: 'change',
        reason: `merged ${result.to.slice(0, 8)}`,
        gitCommit: result.to,
      });
      deps.log.info('run', `${run.id} queued: a merged change touched the pipeline`, p.name);
    }
    deps.pump();
  };
  return (result) =>
    void queueRuns(result).catch((err) => deps.log.error('pull', `cannot queue runs for ${result.to.slice(0, 8)}: ${describeError(err)}`));
}
