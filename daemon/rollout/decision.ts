/**
 * Why a rollout advanced, held, blocked, rolled back or was promoted (docs/rollouts.md, Decisions).
 * `observed`, `threshold` and `sample` are whatever the rule measured; null when it measured nothing.
 */
export interface Decision {
  at: number;
  phase: string;
  rule: string;
  observed: unknown;
  threshold: unknown;
  sample: unknown;
  /** advance | hold | block | rollback | promote | info | ... (open set). */
  verdict: string;
  reason: string;
}

/** A decision the state machine makes; the controller stamps it with the time it is stored. */
export type NewDecision = Omit<Decision, 'at'>;
