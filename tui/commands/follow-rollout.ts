/**
 * `mlp deploy --wait`: follows one rollout through the daemon's `pipeline_updated` events until it
 * ends, printing each phase, weight and gate decision once, so a log (an Airflow task's, a CI job's)
 * tells the rollout's story.
 */
import { MlpError } from '../../shared/errors.js';
import { isTerminalPhase } from '../../shared/domain.js';
import { formatPercent } from '../../shared/percent.js';
import type { RolloutView } from '../../shared/protocol.js';
import type { DaemonConnection } from '../client.js';

/** What changed between two views of the same rollout (`before` null: the first sight of it). */
export function rolloutProgress(before: RolloutView | null, after: RolloutView): string[] {
  const lines: string[] = [];
  for (const d of after.decisions.slice(before?.decisions.length ?? 0)) lines.push(`  ${d.rule}: ${d.verdict}: ${d.reason}`);
  if (!before || before.phase !== after.phase || before.candidateWeight !== after.candidateWeight) {
    const ended = isTerminalPhase(after.phase) && after.reason ? `: ${after.reason}` : '';
    lines.push(`rollout #${after.id}: ${after.phase.replace('_', ' ')}, candidates at ${formatPercent(after.candidateWeight)}${ended}`);
  }
  return lines;
}

/**
 * Resolves with the rollout once it is promoted, blocked, rolled back or failed. Subscribe before
 * sending the command (`subscribe` returns the watcher), so no update is missed.
 */
export function watchRollout(conn: DaemonConnection, pipeline: string, say: (line: string) => void) {
  let id: number | null = null;
  let seen: RolloutView | null = null;
  const early: RolloutView[] = [];
  let settle: (r: RolloutView) => void = () => {};
  const ended = new Promise<RolloutView>((resolve) => (settle = resolve));

  const consider = (r: RolloutView | null) => {
    if (!r) return;
    if (id === null) {
      early.push(r);
      return;
    }
    if (r.id !== id || (seen && r.updatedAt < seen.updatedAt)) return;
    for (const line of rolloutProgress(seen, r)) say(line);
    seen = r;
    if (isTerminalPhase(r.phase)) settle(r);
  };
  const off = conn.onEvent((e) => {
    if (e.kind === 'pipeline_updated' && e.pipeline.name === pipeline) consider(e.pipeline.rollout);
  });
  // Sent now, before the caller sends its command on the same connection: the daemon sends the pipeline's
  // updates to subscribers only, and handles the two messages in order, so none is missed.
  const subscribed = conn.subscribe(pipeline);
  subscribed.catch(() => {}); // a failure is met again in follow()

  return {
    /** Follows rollout `rolloutId` (from the deploy's reply) to its end. */
    async follow(rolloutId: number): Promise<RolloutView> {
      id = rolloutId;
      for (const r of early.splice(0)) consider(r);
      consider((await subscribed).rollout);
      const lost = conn.closed.then((why) => {
        throw new MlpError(
          'unreachable',
          `lost mlpd (${why}) while following rollout #${rolloutId}; it goes on in mlpd: 'mlp status' shows it`,
        );
      });
      try {
        return await Promise.race([ended, lost]);
      } finally {
        off();
      }
    },
    stop: off,
  };
}
