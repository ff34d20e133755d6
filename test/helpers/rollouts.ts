/** A rollout as the store would hand it to the state machine, for tests of what reads one: patch what the test is about. */
import type { Rollout } from '../../daemon/rollout/rollout.js';

export function rolloutOf(patch: Partial<Rollout> = {}): Rollout {
  return {
    id: 1,
    pipeline: 'p',
    runId: 'r-1',
    groups: [{ group: 'london', candidate: 2, current: 1 }],
    phase: 'deploying',
    candidateWeight: 0,
    stepIndex: 0,
    phaseStartedAt: 0,
    pausedFrom: null,
    state: {},
    reason: null,
    createdAt: 0,
    updatedAt: 0,
    finishedAt: null,
    version: 1,
    ...patch,
  };
}
