/**
 * A training run that succeeded rolls out what it produced, through the gates (docs/rollouts.md). A
 * run in which any group failed rolls out nothing: a pipeline moves as a whole or not at all.
 */
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import type { RunResult } from '../runs/runner.js';
import type { Run } from '../store/runs.js';
import type { RolloutController } from './controller.js';

/** The version each group of a run trained, when the run as a whole succeeded. */
export function versionsToRollOut(result: RunResult): { group: string; version: number }[] {
  if (result.status !== 'succeeded') return [];
  return result.groups.flatMap((g) => (g.version ? [{ group: g.group, version: g.version.version }] : []));
}

/** What the run queue calls when a run finishes: starts the rollout of what it trained, if anything. */
export function rollOutWhatRunsTrain(deps: {
  rollouts: Pick<RolloutController, 'start'>;
  log: Logger;
}): (run: Run, result: RunResult) => void {
  return (run, result) => {
    const trained = versionsToRollOut(result);
    if (trained.length === 0) return;
    deps.rollouts
      .start(run.pipeline, run.id, trained)
      .catch((err) => deps.log.error('rollout', `cannot start: ${describeError(err)}`, run.pipeline));
  };
}
