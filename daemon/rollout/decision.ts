/**
 * Why a rollout advanced, held, blocked, rolled back or was promoted (docs/rollouts.md, "Decisions"). The type is
 * the wire schema's (shared/reports/decision.ts: closed sets of rules and verdicts), so what the machine decides
 * is what clients parse.
 */
import type { Decision } from '../../shared/reports/decision.js';

export type { Decision } from '../../shared/reports/decision.js';

/** A decision the state machine makes; the controller stamps it with the time it is stored. */
export type NewDecision = Omit<Decision, 'at'>;
