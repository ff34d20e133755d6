import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rolloutProgress } from '../../tui/commands/follow-rollout.js';
import { decision, rollout } from './fixtures.js';

describe('rolloutProgress (mlp deploy --wait)', () => {
  it('shows the phase and weight at first sight, then only what changed', () => {
    const start = rollout({ id: 4, phase: 'deploying', candidateWeight: 0, decisions: [] });
    assert.deepEqual(rolloutProgress(null, start), ['rollout #4: deploying, candidates at 0%']);
    assert.deepEqual(rolloutProgress(start, { ...start, updatedAt: start.updatedAt + 1 }), []);

    const gated = {
      ...start,
      phase: 'integration_testing' as const,
      decisions: [decision({ rule: 'candidates_live', verdict: 'advance', reason: 'every candidate answers /ping' })],
    };
    assert.deepEqual(rolloutProgress(start, gated), [
      '  candidates_live: advance: every candidate answers /ping',
      'rollout #4: integration testing, candidates at 0%',
    ]);

    const shifted = { ...gated, phase: 'shifting' as const, candidateWeight: 12.5 };
    assert.deepEqual(rolloutProgress(gated, shifted), ['rollout #4: shifting, candidates at 12.5%']);
  });

  it('says why a rollout ended', () => {
    const shifting = rollout({ id: 2, phase: 'shifting', candidateWeight: 30, decisions: [] });
    const back = { ...shifting, phase: 'rolled_back' as const, candidateWeight: 0, reason: 'error rate 0.2 above 0.05' };
    assert.deepEqual(rolloutProgress(shifting, back), ['rollout #2: rolled back, candidates at 0%: error rate 0.2 above 0.05']);
  });
});
