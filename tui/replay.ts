/** The replay gate's report as the views show it: failing requests with both answers, counts and checks per group. */
import type { RolloutView } from '../shared/protocol.js';
import { isSkipped, type AnswerPreview, type CheckResult, type ReplayGateReport } from '../shared/reports/replay.js';
import { UnreadableReport } from '../shared/reports/unreadable.js';

export interface ReplaySample {
  group: string;
  request: string;
  current: AnswerPreview | null;
  candidate: AnswerPreview;
}

/** One group's line: its counts and checks, or why it was not replayed. */
export type ReplayCounts =
  { group: string; skipped: string } | { group: string; sent: number; regressions: number; flaky: number; checks: CheckResult[] };

/** The replay report, when the rollout has one this client can read. */
function reportOf(r: RolloutView | null | undefined): ReplayGateReport {
  const report = r?.gates.replay?.report;
  return report && !(report instanceof UnreadableReport) ? report : {};
}

/** Failing replayed requests of every group, with both answers (first attempts). */
export function replaySamples(r: RolloutView | null | undefined): ReplaySample[] {
  return Object.entries(reportOf(r)).flatMap(([group, report]) =>
    isSkipped(report)
      ? []
      : report.regressions.samples.map((s) => ({ group, request: s.request.body, current: s.current, candidate: s.candidate })),
  );
}

export function replayCounts(r: RolloutView | null | undefined): ReplayCounts[] {
  return Object.entries(reportOf(r)).map(([group, report]) =>
    isSkipped(report)
      ? { group, skipped: report.skipped }
      : { group, sent: report.sent, regressions: report.regressions.count, flaky: report.flaky, checks: report.checks },
  );
}

/** `HTTP 500 {"error":…}` or the reason there was no answer. */
export function describeAnswer(a: AnswerPreview | null): string {
  if (!a) return '(none)';
  if (a.status === null) return a.error ?? 'no answer';
  return `HTTP ${a.status}${a.body ? ` ${a.body}` : ''}`;
}
