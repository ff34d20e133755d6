/**
 * What a change should tell people (docs/notifications.md), decided from the change alone: a
 * rollout's transition and the decision record behind it, or a run that failed. Pure: the outbox
 * stores what this returns, in the transaction that saves the change.
 */
import type { NotifyEvent } from '../../shared/config/notify.js';
import { formatPercent } from '../../shared/percent.js';
import type { Rule, Verdict } from '../../shared/reports/decision.js';
import { isSkipped, type RegressionSample } from '../../shared/reports/replay.js';
import type { Decision } from '../rollout/decision.js';
import type { Rollout } from '../rollout/rollout.js';
import type { Run } from '../store/runs.js';

/** The JSON body POSTed to every target: the contract of issue #16 (docs/notifications.md). */
export interface NotificationPayload {
  event: NotifyEvent;
  pipeline: string;
  /** The rollout's id; null for run_failed. */
  rollout: number | null;
  /** The version rolled out (the newest across groups); null for run_failed. */
  version: string | null;
  /** The groups concerned: every group of the rollout, or the groups whose steps failed. */
  groups: string[];
  /** The rollout's phase after the change; null for run_failed. */
  phase: string | null;
  /** Why, with the context a person needs to act: the failing requests, the error rate and threshold, the step's last lines. */
  reason: string;
  /** The decision record that caused it; null for run_failed. */
  decision: Decision | null;
  /** When it happened (ISO 8601, UTC). */
  at: string;
  /** One line for people: a Slack or Mattermost incoming webhook shows it as it is. */
  text: string;
  /** For run_failed: the run and what failed in it. */
  run?: { id: string; trigger: string; failures: RunFailure[] };
}

/** A group whose run stopped at a failed step. */
export interface RunFailure {
  group: string | null;
  step: string | null;
  reason: string;
  /** The step's last output lines. */
  tail: string[];
}

/** The verdict of the decision that sends a rollout to each notified phase. */
const CAUSE: Record<Exclude<NotifyEvent, 'run_failed'>, Verdict> = {
  blocked: 'block',
  rolled_back: 'rollback',
  failed: 'fail',
  promoted: 'promote',
  paused: 'hold',
};

/** How much of each failing replayed request the reason shows. */
const SAMPLES_SHOWN = 3;
const BODY_CHARS = 200;
/** `text` is one line; longer reasons are cut there (the whole is in `reason`). */
const TEXT_CHARS = 600;

/**
 * The event a rollout's saved transition tells, if any: it reached blocked, rolled_back, failed or
 * promoted, or was paused. `decisions` are the rollout's, newest last (the step's own included).
 */
export function rolloutNotification(
  before: Rollout,
  after: Rollout,
  decisions: readonly Decision[],
  at: number,
): NotificationPayload | undefined {
  if (after.phase === before.phase) return undefined;
  const event = notifiedPhase(after.phase);
  if (!event) return undefined;
  const decision = [...decisions].reverse().find((d) => d.verdict === CAUSE[event]) ?? decisions.at(-1) ?? null;
  const version = newest(after.groups.map((g) => g.candidate))!;
  const current = newest(after.groups.map((g) => g.current));
  const why = decision?.reason ?? after.reason ?? '';
  const reason = event === 'blocked' && decision?.rule === 'replay' ? withFailingRequests(why, after) : why;
  const subject = `${after.pipeline} ${version}`;
  const headline: Record<typeof event, string> = {
    blocked: `${subject} was blocked ${(decision && BLOCKED_BY[decision.rule]) ?? `in ${decision?.phase ?? before.phase}`}${current ? ` (${current} keeps serving)` : ''}`,
    rolled_back: `${subject} was rolled back${current ? ` (${current} serves all traffic)` : ''}`,
    failed: `the rollout of ${subject} failed`,
    promoted: `${subject} is live on all traffic`,
    paused: `the rollout of ${subject} is paused at ${formatPercent(after.candidateWeight)}`,
  };
  return {
    event,
    pipeline: after.pipeline,
    rollout: after.id,
    version,
    groups: after.groups.map((g) => g.group),
    phase: after.phase,
    reason,
    decision,
    at: new Date(at).toISOString(),
    text: oneLine(`mlp: ${headline[event]}: ${why}`),
  };
}

/** The event a failed run tells: which step of which group, and how it ended. */
export function runFailedNotification(run: Run, failures: readonly RunFailure[], at: number): NotificationPayload {
  const first = failures[0];
  const where = first?.step ? ` at step ${first.step}${first.group ? ` of ${first.group}` : ''}` : '';
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more group${failures.length === 2 ? '' : 's'})` : '';
  const reason = failures.length
    ? failures
        .map((f) => `${[f.group, f.step].filter(Boolean).join('/') || 'run'}: ${f.reason}${f.tail.length ? `\n${f.tail.join('\n')}` : ''}`)
        .join('\n\n')
    : (run.reason ?? 'the run failed');
  return {
    event: 'run_failed',
    pipeline: run.pipeline,
    rollout: null,
    version: null,
    groups: [...new Set(failures.flatMap((f) => (f.group ? [f.group] : [])))],
    phase: null,
    reason,
    decision: null,
    at: new Date(at).toISOString(),
    text: oneLine(
      `mlp: ${run.pipeline} run ${run.id} (${run.trigger}) failed${where}${more}: ${first?.reason ?? run.reason ?? 'no reason recorded'}`,
    ),
    run: { id: run.id, trigger: run.trigger, failures: [...failures] },
  };
}

function notifiedPhase(phase: Rollout['phase']): Exclude<NotifyEvent, 'run_failed'> | undefined {
  return phase === 'blocked' || phase === 'rolled_back' || phase === 'failed' || phase === 'promoted' || phase === 'paused'
    ? phase
    : undefined;
}

/** What blocked a rollout, by the rule of the decision. */
const BLOCKED_BY: Partial<Record<Rule, string>> = {
  candidates_live: 'before any traffic (a candidate did not start)',
  data_checks: 'by the data checks',
  integration_tests: 'by the integration tests',
  replay: 'by replay',
};

/** The replay gate's reason, then the first failing requests of each group: what was sent, and what the candidate answered. */
function withFailingRequests(reason: string, r: Rollout): string {
  const reports = r.state.gates?.replay?.report ?? {};
  const shown: string[] = [];
  for (const [group, report] of Object.entries(reports)) {
    if (isSkipped(report)) continue;
    for (const s of report.regressions.samples.slice(0, SAMPLES_SHOWN - shown.length))
      shown.push(describeSample(r.groups.length > 1 ? group : null, s));
  }
  return shown.length ? `${reason}\nfailing requests:\n${shown.map((l) => `- ${l}`).join('\n')}` : reason;
}

function describeSample(group: string | null, s: RegressionSample): string {
  const answer = s.candidate.status !== null ? `HTTP ${s.candidate.status} ${cut(s.candidate.body)}` : (s.candidate.error ?? 'no answer');
  const current = s.current ? ` (current: HTTP ${s.current.status ?? s.current.error ?? '-'})` : '';
  return `${group ? `${group}: ` : ''}${cut(s.request.body)} → ${answer.trim()}${current}`;
}

const cut = (text: string) => (text.length > BODY_CHARS ? `${text.slice(0, BODY_CHARS)}…` : text);

function oneLine(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' · ');
  return flat.length > TEXT_CHARS ? `${flat.slice(0, TEXT_CHARS - 1)}…` : flat;
}

function newest(versions: (number | null)[]): string | null {
  const known = versions.filter((v): v is number => v !== null);
  return known.length ? `v${Math.max(...known)}` : null;
}
