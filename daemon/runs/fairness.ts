/**
 * Which queued runs start next. A pipeline runs one run at a time; runs whose steps run on this
 * machine (`local`, `docker`) share `runs.max_parallel` slots, runs on SageMaker share
 * `runs.max_parallel_cloud` (they wait on AWS, not on these cores). The queue is served round robin
 * by pipeline: the pipeline that started a run least recently goes first, so a pipeline with many
 * queued runs (or a burst of a hundred schedules) cannot keep another waiting behind all of them.
 */

import { DEFAULT_MAX_PARALLEL_CLOUD, type RepoConfig } from '../../shared/config/schema.js';

export type RunPlace = 'here' | 'cloud';

export interface QueuedRun {
  id: string;
  pipeline: string;
  createdAt: number;
  place: RunPlace;
}

export interface RunLimits {
  here: number;
  cloud: number;
}

/** The limits mlp.yaml's `runs` sets; runs on this machine default to one per core, at least 2. */
export function runLimitsOf(
  runs: Pick<NonNullable<RepoConfig['runs']>, 'max_parallel' | 'max_parallel_cloud'> | undefined,
  cores: number,
): RunLimits {
  return { here: runs?.max_parallel ?? Math.max(2, cores), cloud: runs?.max_parallel_cloud ?? DEFAULT_MAX_PARALLEL_CLOUD };
}

/**
 * The queued runs in the order they will start: round k holds each pipeline's k-th oldest queued run,
 * pipelines ordered by when they last started a run (never first), then by their oldest queued run.
 * `lastStarted` gives a pipeline's last start as a number that grows with time (undefined: never).
 */
export function startOrder(queued: readonly QueuedRun[], lastStarted: (pipeline: string) => number | undefined): QueuedRun[] {
  const byPipeline = new Map<string, QueuedRun[]>();
  for (const run of [...queued].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))) {
    const list = byPipeline.get(run.pipeline);
    if (list) list.push(run);
    else byPipeline.set(run.pipeline, [run]);
  }
  const pipelines = [...byPipeline.entries()].map(([name, runs]) => ({ name, runs, last: lastStarted(name) ?? -Infinity }));
  pipelines.sort((a, b) => a.last - b.last || a.runs[0]!.createdAt - b.runs[0]!.createdAt || a.name.localeCompare(b.name));
  const order: QueuedRun[] = [];
  for (let round = 0; order.length < queued.length; round++) {
    for (const p of pipelines) if (round < p.runs.length) order.push(p.runs[round]!);
  }
  return order;
}

/** The runs to start now, in `order`: one per pipeline not running already, within each place's free slots. */
export function runsToStart(
  order: readonly QueuedRun[],
  running: readonly { pipeline: string; place: RunPlace }[],
  limits: RunLimits,
): QueuedRun[] {
  const busy = new Set(running.map((r) => r.pipeline));
  const free: RunLimits = { here: limits.here, cloud: limits.cloud };
  for (const r of running) free[r.place]--;
  const start: QueuedRun[] = [];
  for (const run of order) {
    if (free.here <= 0 && free.cloud <= 0) break;
    if (busy.has(run.pipeline) || free[run.place] <= 0) continue;
    busy.add(run.pipeline);
    free[run.place]--;
    start.push(run);
  }
  return start;
}
