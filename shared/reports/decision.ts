/**
 * Why a rollout advanced, held, blocked, rolled back or was promoted (docs/rollouts.md, "Decisions").
 * The state machine records them, `mlp status`, the TUI and the notifications read them.
 */
import { z } from 'zod';
import { ROLLOUT_PHASES } from '../domain.js';
import { GATES } from './gates.js';

/** What was checked: a gate, or one of the machine's own rules. */
export const RULES = [
  'candidates_live',
  ...GATES,
  'step',
  'error_rate',
  'latency_p99',
  'first_version',
  'strategy',
  'manual',
  'superseded',
  'machinery',
  'restart',
  'server_budget',
] as const;
export type Rule = (typeof RULES)[number];

export const VERDICTS = ['advance', 'skip', 'block', 'hold', 'resume', 'promote', 'rollback', 'fail', 'wait'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** `observed`, `threshold` and `sample` are whatever the rule measured; null when it measured nothing. */
export const decision = z.object({
  at: z.number(),
  phase: z.enum(ROLLOUT_PHASES),
  rule: z.enum(RULES),
  observed: z.unknown(),
  threshold: z.unknown(),
  sample: z.unknown(),
  verdict: z.enum(VERDICTS),
  /** One line a person understands. */
  reason: z.string(),
});
export type Decision = z.infer<typeof decision>;
