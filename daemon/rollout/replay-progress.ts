/**
 * How far each group's replay has got while a rollout is replaying: status and the TUI show it, and
 * each report republishes the pipeline. It lives in memory only (a restarted replay starts again at
 * 0) and goes once the rollout leaves the replay.
 */
import type { RolloutView } from '../../shared/protocol.js';

export type GroupReplayProgress = NonNullable<RolloutView['replayProgress']>[number];

export interface ReplayProgress {
  /** A group's replay has sent `done` of `total` requests (null: not counted yet). */
  report(pipeline: string, group: string, done: number, total: number | null): void;
  /** A rollout changed: the progress of one no longer replaying is dropped. */
  rolloutChanged(rollout: { pipeline: string; phase: string }): void;
  /** The progress of each group of the pipeline's replay, in the order they first reported. */
  of(pipeline: string): GroupReplayProgress[];
}

export function createReplayProgress(opts: { onChanged(pipeline: string): void }): ReplayProgress {
  const byPipeline = new Map<string, Map<string, GroupReplayProgress>>();
  return {
    report(pipeline, group, done, total) {
      const groups = byPipeline.get(pipeline) ?? new Map<string, GroupReplayProgress>();
      groups.set(group, { group, done, total });
      byPipeline.set(pipeline, groups);
      opts.onChanged(pipeline); // at most 4 times a second per group: the replay throttles its reports
    },
    rolloutChanged(rollout) {
      if (rollout.phase !== 'replaying') byPipeline.delete(rollout.pipeline);
    },
    of: (pipeline) => [...(byPipeline.get(pipeline)?.values() ?? [])],
  };
}
