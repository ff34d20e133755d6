/**
 * A rollout as the domain knows it: which versions it moves, where it stands, and what the state machine
 * remembers across restarts. The store persists these and nothing more; the state is parsed with
 * `rolloutStateSchema` whenever it is read, so no reader casts untyped JSON.
 */
import { z } from 'zod';
import type { PausablePhase, RolloutPhase } from '../../shared/domain.js';
import type { GateOutcomes } from '../../shared/reports/gates.js';

/** One group's part of a rollout: the version rolled out and the one it replaces. */
export interface RolloutGroup {
  group: string;
  candidate: number;
  /** The version serving before this rollout; null for the group's first version. */
  current: number | null;
}

export { GATES, type Gate, type GateOutcome, type GateOutcomes } from '../../shared/reports/gates.js';

/**
 * The gates' outcomes as stored. Their reports are checked where they are made (the gate runner's types are the
 * wire schemas of shared/reports/) and again by clients, where one they cannot read is shown as such; reading a
 * stored state checks only their shape, so a report an older mlpd wrote never makes its rollout unreadable.
 */
const storedGateOutcomes = z.custom<GateOutcomes>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  "expected the gates' outcomes",
);

/** What the watch saw of the current step of the shift: when it last observed, and the candidates' requests and errors. */
export const stepWatchSchema = z.object({ step: z.number(), observedAt: z.number(), requests: z.number(), errors: z.number() });
export type StepWatch = z.infer<typeof stepWatchSchema>;

/** The phases a rollout finishes in once the effect that gets it there (promote, retire the candidates) is done. */
export const FINAL_PHASES = ['promoted', 'blocked', 'rolled_back', 'failed'] as const;
export type FinalPhase = (typeof FINAL_PHASES)[number];

export const rolloutStateSchema = z.object({
  gates: storedGateOutcomes.optional(),
  /** When the current weight was set (shifting): the next step is due one interval later. */
  stepStartedAt: z.number().optional(),
  pausedAt: z.number().optional(),
  /**
   * What the watch saw of the current step, saved about every second while it observes (the daemon up, the
   * shift running, the candidates live).
   */
  watch: stepWatchSchema.optional(),
  /**
   * Set while the candidates are not live — the daemon restarted, or a candidate's server went down during the
   * shift — until they answer /ping again: no gate runs and the shift's clock stands still from `since` (the last
   * moment the watch observed), so time the watch could not observe is never counted as watched.
   */
  awaitingCandidates: z.object({ since: z.number(), cause: z.enum(['restart', 'down']) }).optional(),
  /** Set while deploying waits for room in the server budget, since the first refusal: it blocks once it waited too long. */
  awaitingBudget: z.object({ since: z.number() }).optional(),
  /**
   * Set once the rollout is finishing: the phase it ends in once its effect (promote, retire the candidates) is
   * done, and why. Stored as `ending` since the first version of the store.
   */
  ending: z.object({ phase: z.enum(FINAL_PHASES), reason: z.string() }).optional(),
});
export type RolloutState = z.infer<typeof rolloutStateSchema>;
export type Finishing = NonNullable<RolloutState['ending']>;

/** The persisted state of a rollout: the state machine reads one, decides, and saves the next. */
export interface Rollout {
  id: number;
  pipeline: string;
  /** The training run that produced the candidates (null when rolled out by hand). */
  runId: string | null;
  /** Every group moves in lockstep: one phase and one weight for the whole pipeline. */
  groups: RolloutGroup[];
  phase: RolloutPhase;
  /** Percent of traffic on the candidate, 0–100. */
  candidateWeight: number;
  stepIndex: number;
  phaseStartedAt: number;
  /** The phase a paused rollout resumes to; null unless paused. */
  pausedFrom: PausablePhase | null;
  state: RolloutState;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /** Bumped by every save; pass the one you read as `expectedVersion`. */
  version: number;
}

/** Reads a stored rollout state; a state this version of mlp cannot read is an error naming the rollout and the field. */
export function parseRolloutState(rolloutId: number, json: unknown): RolloutState {
  const parsed = rolloutStateSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new Error(
    `rollout #${rolloutId} has a stored state mlp cannot read (${issue.path.join('.') || 'state'}: ${issue.message}); was the data dir written by a newer mlp?`,
  );
}
