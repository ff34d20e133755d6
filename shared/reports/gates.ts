/**
 * The quality gates' outcomes (docs/rollouts.md, "Gates"): what the daemon's gate runner returns and
 * stores with the rollout, and the view of them `mlp status` and the TUI read. Each gate has its own
 * report: data checks one per suite and group, replay one per group, integration tests none.
 */
import { z } from 'zod';
import { dataChecksGateReport } from './data-checks.js';
import { replayGateReport } from './replay.js';
import { readable } from './unreadable.js';

export const GATES = ['data_checks', 'integration_tests', 'replay'] as const;
export type Gate = (typeof GATES)[number];

const outcome = <R extends z.ZodType>(report: R) =>
  z.object({
    passed: z.boolean(),
    /** The gate had nothing to do (nothing configured, no captured traffic); it passes with this said. */
    skipped: z.boolean().optional(),
    /** One line a person understands. */
    summary: z.string(),
    /** The gate's full report, stored for status and the TUI. */
    report: report.optional(),
    /** Figures for the decision record. */
    observed: z.unknown().optional(),
    threshold: z.unknown().optional(),
    sample: z.unknown().optional(),
  });

/** What each gate that ran returned, as the rollout keeps it. */
export const gateOutcomes = z
  .object({ data_checks: outcome(dataChecksGateReport), integration_tests: outcome(z.never()), replay: outcome(replayGateReport) })
  .partial();
export type GateOutcomes = z.infer<typeof gateOutcomes>;
export type GateOutcome = NonNullable<GateOutcomes[Gate]>;

const view = <R extends z.ZodType>(report: R) =>
  z.object({
    passed: z.boolean(),
    skipped: z.boolean(),
    summary: z.string(),
    /** Null when the gate has none; an UnreadableReport when it came in a shape this client does not know. */
    report: readable(report).nullable(),
  });

/** The gates of a rollout as the API carries them (`rollout.gates`), keyed by gate in the order they ran. */
export const gateViews = z
  .object({ data_checks: view(dataChecksGateReport), integration_tests: view(z.never()), replay: view(replayGateReport) })
  .partial();
export type GateViews = z.infer<typeof gateViews>;
export type GateView = NonNullable<GateViews[Gate]>;

/** The API's view of stored outcomes, in the order the gates run; the figures stay in the decisions. */
export function gateViewsOf(outcomes: GateOutcomes): GateViews {
  const views: GateViews = {};
  if (outcomes.data_checks) views.data_checks = viewOf(outcomes.data_checks);
  if (outcomes.integration_tests) views.integration_tests = viewOf(outcomes.integration_tests);
  if (outcomes.replay) views.replay = viewOf(outcomes.replay);
  return views;
}

function viewOf<R>(o: { passed: boolean; skipped?: boolean | undefined; summary: string; report?: R | undefined }) {
  return { passed: o.passed, skipped: o.skipped ?? false, summary: o.summary, report: o.report ?? null };
}
