/**
 * The replay gate's report, read defensively: it is `unknown` in the protocol (its shape belongs to
 * the daemon, docs/rollouts.md "The report"), so every field is checked before use.
 */
import type { PipelineView } from '../shared/protocol.js';

export interface Answer {
  status: number | null;
  body: string;
  error: string | null;
}

export interface ReplaySample {
  group: string;
  request: string;
  current: Answer | null;
  candidate: Answer | null;
}

export interface ReplayCounts {
  group: string;
  verdict: string;
  reason: string;
  sent: number | null;
  regressions: number | null;
  flaky: number | null;
  checks: Array<{ rule: string; observed: unknown; threshold: unknown; passed: boolean }>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function answer(v: unknown): Answer | null {
  if (!isRecord(v)) return null;
  return { status: num(v.status), body: str(v.body), error: typeof v.error === 'string' ? v.error : null };
}

function groups(p: PipelineView): Array<[string, Record<string, unknown>]> {
  const report = p.rollout?.gates.replay?.report;
  if (!isRecord(report)) return [];
  return Object.entries(report).filter((e): e is [string, Record<string, unknown>] => isRecord(e[1]));
}

/** Failing replayed requests of every group, with both answers. */
export function replaySamples(p: PipelineView): ReplaySample[] {
  return groups(p).flatMap(([group, r]) => {
    const samples = isRecord(r.regressions) && Array.isArray(r.regressions.samples) ? r.regressions.samples : [];
    return samples.filter(isRecord).map((s) => ({ group, request: isRecord(s.request) ? str(s.request.body) : '', current: answer(s.current), candidate: answer(s.candidate) }));
  });
}

export function replayCounts(p: PipelineView): ReplayCounts[] {
  return groups(p).map(([group, r]) => ({
    group,
    verdict: str(r.verdict),
    reason: str(r.reason),
    sent: num(r.sent),
    regressions: isRecord(r.regressions) ? num(r.regressions.count) : null,
    flaky: num(r.flaky),
    checks: (Array.isArray(r.checks) ? r.checks : []).filter(isRecord).map((c) => ({ rule: str(c.rule), observed: c.observed, threshold: c.threshold, passed: c.passed === true })),
  }));
}

/** `HTTP 500 {"error":…}` or the reason there was no answer. */
export function describeAnswer(a: Answer | null): string {
  if (!a) return '(none)';
  if (a.status === null) return a.error ?? 'no answer';
  return `HTTP ${a.status}${a.body ? ` ${a.body}` : ''}`;
}
