/**
 * What a replay found (docs/rollouts.md, "Replay"): plain JSON, stored with the rollout and shown by
 * `mlp status` and the TUI. Built here from the counts and check results; no I/O.
 */
import { isUtf8 } from 'node:buffer';
import { plural } from '../../shared/plural.js';
import type { AnswerPreview, CheckResult, RegressionSample, ReplayReport } from '../../shared/reports/replay.js';

// The report's types are its wire schema's (shared/reports/replay.ts): what this module builds is what clients parse.
export type { AnswerPreview, CheckKind, CheckResult, LatencySummary, RegressionSample, ReplayReport } from '../../shared/reports/replay.js';

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
    v.flaky > 0 ? `${count(v.flaky)} flaky ${plural(v.flaky, 'failure')} ignored` : null,
    v.checks.length > 0
      ? `${evaluated} of ${v.checks.length} ${plural(v.checks.length, 'check')} passed${evaluated < v.checks.length ? `, ${v.checks.length - evaluated} skipped` : ''}`
      : null,
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
