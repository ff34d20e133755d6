/**
 * What a replay found (docs/rollouts.md, "Replay"): plain JSON, stored with the rollout and shown by
 * `mlp status` and the TUI. Built here from the counts and check results; no I/O.
 */
import { isUtf8 } from 'node:buffer';

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
}

/** One side of a replayed request as the report shows it. */
export interface AnswerPreview {
  /** HTTP status; null when no answer came (timeout, connection failure). */
  status: number | null;
  /** The body's first ~2 KB (see `bodyPreview`). */
  body: string;
  latencyMs: number;
  /** Why there is no answer: `timeout after 30000 ms`, `connection refused`, ... */
  error?: string;
}

/** A request that worked on the current model and failed on the candidate, twice. */
export interface RegressionSample {
  inferenceId: string | null;
  /** When it was captured (epoch ms). */
  at: number;
  request: { contentType: string | null; body: string };
  /** The status live traffic got when the request was captured (null: the record does not say). */
  capturedStatus: number | null;
  /** The first attempt; the `retry` is what confirmed it. Null without a current model. */
  current: AnswerPreview | null;
  candidate: AnswerPreview;
  retry: { current: AnswerPreview | null; candidate: AnswerPreview };
}

export type CheckKind = 'latency' | 'distribution' | 'max_abs_diff' | 'python';

export interface CheckResult {
  kind: CheckKind;
  /** The rule as a person reads it: `p99 latency ≤ 1.5 × current`, `psi($.demand) ≤ 0.2`. */
  rule: string;
  /** The figure measured (a python check's `observed` may be anything JSON); null when there is none. */
  observed: unknown;
  /** The bound it was held to, in the same unit; null when the check has none (python). */
  threshold: number | null;
  passed: boolean;
  /** True when the check could not apply (it needs a current model and there is none); it does not fail the gate. */
  skipped?: true;
  /** How the figure came about, or why the check failed (a python check's traceback). */
  detail: string;
}

export interface ReplayReport {
  /** Requests taken from the capture (sent, or about to be when a cancel came). */
  requested: number;
  /** Requests answered (or failed) on every side; `requested` minus those a cancel cut off. */
  sent: number;
  /** Whether a current model answered the same requests side by side; without one, the captured live status is the reference. */
  baseline: 'current' | 'capture';
  /** Requests whose first candidate answer was an error (status >= 400, timeout, connection failure). */
  candidateErrors: number;
  /** Requests whose first current answer was an error. */
  currentErrors: number;
  /** Requests whose captured live answer was an error (status >= 400); they are replayed like the others. */
  capturedErrors: number;
  /** Candidate failures that did not repeat when re-sent to both models, or that the current model repeated: noise, not counted. */
  flaky: number;
  regressions: { count: number; samples: RegressionSample[] };
  checks: CheckResult[];
  /** Over the first attempt of every request; a timeout counts as the timeout. */
  latency: { current: LatencySummary | null; candidate: LatencySummary | null };
  durationMs: number;
  /** True when the replay was stopped (pause, rollback, superseded) before it finished: the verdict is then `fail`, checks were not run. */
  cancelled: boolean;
  verdict: 'pass' | 'fail';
  /** One line a person understands. */
  reason: string;
}

/** What the gate records when there was nothing to replay. */
export interface ReplaySkipped {
  verdict: 'skipped';
  reason: string;
}

/** The record for "no captured traffic": the replay is skipped, the gate does not block. */
export function noCapturedTraffic(where: { pipeline: string; group: string; windowDays: number }): ReplaySkipped {
  const days = where.windowDays === 1 ? 'day' : `${where.windowDays} days`;
  return {
    verdict: 'skipped',
    reason: `no captured traffic for ${where.pipeline}/${where.group} in the last ${days}: replay skipped`,
  };
}

/** At most this many bytes of a body go into a report. */
export const PREVIEW_BYTES = 2048;
/** At most this many regressions are kept with their answers. */
export const MAX_SAMPLES = 20;

/**
 * A body as a report shows it: UTF-8 text cut at PREVIEW_BYTES (with the full size said), or for binary
 * bodies a base64 prefix.
 */
export function bodyPreview(body: Buffer): string {
  if (body.length === 0) return '';
  if (isUtf8(body)) {
    if (body.length <= PREVIEW_BYTES) return body.toString('utf8');
    // Cutting may split a character: the decoder turns the stray bytes into U+FFFD, which is fine in a preview.
    return `${body.subarray(0, PREVIEW_BYTES).toString('utf8')}… (${body.length.toLocaleString('en-US')} bytes)`;
  }
  const head = body.subarray(0, (PREVIEW_BYTES / 4) * 3).toString('base64');
  return `<${body.length.toLocaleString('en-US')} bytes of binary, base64: ${head}${body.length > (PREVIEW_BYTES / 4) * 3 ? '…' : ''}>`;
}

export const count = (n: number) => n.toLocaleString('en-US');

/** `p99`, `p99.9`, `p50` for a quantile. */
export function quantileLabel(q: number): string {
  return `p${Number((q * 100).toPrecision(6))}`;
}

/** A number rounded for people (and for JSON: no NaN or Infinity, those become null). */
export function rounded(n: number, digits = 4): number | null {
  if (!Number.isFinite(n)) return null;
  return Number(n.toPrecision(digits));
}

export interface VerdictInput {
  sent: number;
  /** Requests the reference answered without error: those the built-in rule applies to. */
  comparable: number;
  regressions: number;
  flaky: number;
  firstRegression: RegressionSample | null;
  checks: CheckResult[];
  cancelled: boolean;
  names: { current: string; candidate: string };
  baseline: ReplayReport['baseline'];
}

/** The verdict and its one-line reason. */
export function verdictOf(v: VerdictInput): Pick<ReplayReport, 'verdict' | 'reason'> {
  if (v.cancelled) return { verdict: 'fail', reason: `replay cancelled after ${count(v.sent)} requests; no verdict` };
  const problems: string[] = [];
  if (v.regressions > 0) {
    const worked = v.baseline === 'current' ? `worked on ${v.names.current}` : 'worked when captured';
    const first = v.firstRegression ? ` (first: ${failureText(v.firstRegression.retry.candidate)})` : '';
    problems.push(`${count(v.regressions)} of ${count(v.comparable)} requests that ${worked} fail on ${v.names.candidate}${first}`);
  }
  for (const c of v.checks) if (!c.passed && !c.skipped) problems.push(`check failed: ${c.rule} (${firstLine(c.detail)})`);
  if (problems.length > 0) return { verdict: 'fail', reason: problems.join('; ') };
  const evaluated = v.checks.filter((c) => !c.skipped).length;
  const extras = [
    v.flaky > 0 ? `${count(v.flaky)} flaky ${v.flaky === 1 ? 'failure' : 'failures'} ignored` : null,
    v.checks.length > 0 ? `${evaluated} of ${v.checks.length} ${v.checks.length === 1 ? 'check' : 'checks'} passed${evaluated < v.checks.length ? `, ${v.checks.length - evaluated} skipped` : ''}` : null,
  ].filter((x) => x !== null);
  const tail = extras.length > 0 ? ` (${extras.join('; ')})` : '';
  return { verdict: 'pass', reason: `${count(v.sent)} requests replayed on ${v.names.candidate}: no regressions${tail}` };
}

/** `HTTP 500 {"error": "boom"}` or `timeout after 30000 ms`, short. */
export function failureText(a: AnswerPreview): string {
  if (a.error) return a.error;
  const body = a.body.length > 120 ? `${a.body.slice(0, 120)}…` : a.body;
  return `HTTP ${a.status}${body ? ` ${firstLine(body)}` : ''}`;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : `${s.slice(0, i)} …`;
}
