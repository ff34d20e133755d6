/**
 * What people are told of a rollout beyond its phase, computed from the stored status (the way argo-rollouts
 * computes its phase and message): the stored phase is the machine's, and some of what the rollout is doing
 * lives in its state. A rollout finishing — promoting, blocking, failing — keeps the phase it finishes from
 * (docs/rollouts.md: `shifting` at 100% while the platform promotes), so without this message it would look
 * as if it still shifted; one waiting for its candidates would look as if its step's clock ran.
 */
import { isTerminalPhase } from '../../shared/domain.js';
import type { FinalPhase, Rollout } from './rollout.js';

const FINISHING: Record<FinalPhase, string> = {
  promoted: 'promoting: the candidates take all traffic and become current, the versions before them drain and stop',
  rolled_back: 'rolling back: the candidates get no traffic, drain and stop',
  blocked: 'blocking: the candidates, which got no live traffic, are stopped',
  failed: 'failing: the candidates get no traffic, drain and stop',
};

/** One line saying what the rollout is doing that its phase does not say; null when the phase says it all. */
export function rolloutMessageOf(r: Rollout): string | null {
  // A finished rollout keeps where it was going in its state; its phase and reason say it now.
  if (isTerminalPhase(r.phase)) return null;
  const { ending, awaitingCandidates } = r.state;
  if (ending) return `${FINISHING[ending.phase]} (${ending.reason})`;
  if (awaitingCandidates?.cause === 'restart') return 'the daemon restarted: nothing is judged until the candidates answer /ping again';
  if (awaitingCandidates?.cause === 'down') return "a candidate is not live: the step's clock stands still until it answers /ping again";
  return null;
}
