/**
 * What a replay found (docs/rollouts.md, "Replay"): the daemon builds it (daemon/replay/), stores it
 * with the rollout, and `mlp status` and the TUI read it through these same types.
 */
import { z } from 'zod';

export const latencySummary = z.object({ p50: z.number(), p95: z.number(), p99: z.number() });
export type LatencySummary = z.infer<typeof latencySummary>;

/** One side of a replayed request as the report shows it. */
export const answerPreview = z.object({
  /** HTTP status; null when no answer came (timeout, connection failure). */
  status: z.number().nullable(),
  /** The body's first ~2 KB (daemon/replay/report.ts `bodyPreview`). */
  body: z.string(),
  latencyMs: z.number(),
  /** Why there is no answer: `timeout after 30000 ms`, `connection refused`, ... */
  error: z.string().optional(),
});
export type AnswerPreview = z.infer<typeof answerPreview>;

/** A request that worked on the current model and failed on the candidate, twice. */
export const regressionSample = z.object({
  inferenceId: z.string().nullable(),
  /** When it was captured (epoch ms). */
  at: z.number(),
  request: z.object({ contentType: z.string().nullable(), body: z.string() }),
  /** The status live traffic got when the request was captured (null: the record does not say). */
  capturedStatus: z.number().nullable(),
  /** The first attempt; the `retry` is what confirmed it. Null without a current model. */
  current: answerPreview.nullable(),
  candidate: answerPreview,
  retry: z.object({ current: answerPreview.nullable(), candidate: answerPreview }),
});
export type RegressionSample = z.infer<typeof regressionSample>;

export const CHECK_KINDS = ['latency', 'distribution', 'max_abs_diff', 'python'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const checkResult = z.object({
  kind: z.enum(CHECK_KINDS),
  /** The rule as a person reads it: `p99 latency ≤ 1.5 × current`, `psi($.demand) ≤ 0.2`. */
  rule: z.string(),
  /** The figure measured (a python check's `observed` may be anything JSON); null when there is none. */
  observed: z.unknown(),
  /** The bound it was held to, in the same unit; null when the check has none (python). */
  threshold: z.number().nullable(),
  passed: z.boolean(),
  /** True when the check could not apply (it needs a current model and there is none); it does not fail the gate. */
  skipped: z.literal(true).optional(),
  /** How the figure came about, or why the check failed (a python check's traceback). */
  detail: z.string(),
});
export type CheckResult = z.infer<typeof checkResult>;

export const replayReport = z.object({
  /** Requests taken from the capture (sent, or about to be when a cancel came). */
  requested: z.number(),
  /** Requests answered (or failed) on every side; `requested` minus those a cancel cut off. */
  sent: z.number(),
  /** Whether a current model answered the same requests side by side; without one, the captured live status is the reference. */
  baseline: z.enum(['current', 'capture']),
  /** Requests whose first candidate answer was an error (status >= 400, timeout, connection failure). */
  candidateErrors: z.number(),
  /** Requests whose first current answer was an error. */
  currentErrors: z.number(),
  /** Requests whose captured live answer was an error (status >= 400); they are replayed like the others. */
  capturedErrors: z.number(),
  /** Candidate failures that did not repeat when re-sent to both models, or that the current model repeated: noise, not counted. */
  flaky: z.number(),
  regressions: z.object({ count: z.number(), samples: z.array(regressionSample) }),
  checks: z.array(checkResult),
  /** Over the first attempt of every request; a timeout counts as the timeout. */
  latency: z.object({ current: latencySummary.nullable(), candidate: latencySummary.nullable() }),
  durationMs: z.number(),
  /** True when the replay was stopped (pause, rollback, superseded) before it finished: the verdict is then `fail`, checks were not run. */
  cancelled: z.boolean(),
  verdict: z.enum(['pass', 'fail']),
  /** One line a person understands. */
  reason: z.string(),
});
export type ReplayReport = z.infer<typeof replayReport>;

/** A group the replay gate did not replay, and why (no current model, no captured traffic); it does not block. */
export const replaySkipped = z.object({ skipped: z.string() });
export type ReplaySkipped = z.infer<typeof replaySkipped>;

/** The replay gate's report: each group's replay, or why it was skipped. */
export const replayGateReport = z.record(z.string(), z.union([replayReport, replaySkipped]));
export type ReplayGateReport = z.infer<typeof replayGateReport>;

export const isSkipped = (r: ReplayReport | ReplaySkipped): r is ReplaySkipped => 'skipped' in r;
