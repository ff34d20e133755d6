/** Small text helpers the views share. */
import { formatDuration } from '../../../shared/duration.js';
import { formatPercent } from '../../../shared/percent.js';
import type { CapacityView, RolloutPhase, RolloutView, StorageProblemView } from '../../../shared/protocol.js';

/** Ink colour per phase: red needs a person now, yellow is waiting on one, cyan is moving, green is done. */
export const PHASE_COLOUR: Record<RolloutPhase | 'idle', string> = {
  deploying: 'cyan',
  checking_data: 'cyan',
  integration_testing: 'cyan',
  replaying: 'cyan',
  shifting: 'blue',
  paused: 'yellow',
  promoted: 'green',
  blocked: 'red',
  rolling_back: 'magenta',
  rolled_back: 'gray',
  failed: 'red',
  idle: 'gray',
};

export { plural } from '../../../shared/plural.js';
export const rate = (r: number) => `${(r * 100).toFixed(r < 0.1 ? 1 : 0)}%`;

export function ago(at: number | null, now: number): string {
  if (at === null) return '-';
  return `${formatDuration(Math.max(0, now - at))} ago`;
}

/** `45s`, `3m`, `2h`, `4d`: one unit, rounded, for narrow columns. */
export function shortDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3_600) return `${Math.round(s / 60)}m`;
  if (s < 86_400) return `${Math.round(s / 3_600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/**
 * `in 3m → 30%`, or `in 3m → promote` for the last step (the candidates then take all traffic);
 * `due → 30%` once the time has come and the daemon has not taken the step yet.
 */
export function nextStepText(step: { at: number; weight: number }, now: number, duration: (ms: number) => string = shortDuration): string {
  const to = step.weight >= 100 ? 'promote' : formatPercent(step.weight);
  return step.at > now ? `in ${duration(step.at - now)} → ${to}` : `due → ${to}`;
}

/** The NEXT cell of the fleet and `mlp status`: when the shift's next step is due, `paused` when it waits for a resume, else `-`. */
export function nextStepCell(
  r: { phase: RolloutPhase; nextStep?: RolloutView['nextStep'] } | null | undefined,
  now: number,
  duration: (ms: number) => string = shortDuration,
): string {
  if (r?.phase === 'paused') return 'paused';
  return r?.nextStep ? nextStepText(r.nextStep, now, duration) : '-';
}

/** The line `mlp status` and the TUI show while the daemon's database refuses writes; the cause first, for narrow screens. */
const count = (x: number) => x.toLocaleString('en-US');

/** The daemon's model servers in a line (null without any): how many serve, and what the others are doing. */
export function serversText(c: CapacityView): string | null {
  const s = c.servers;
  if (s.total === 0 && s.max === null) return null;
  const others: string[] = [
    s.starting && `${count(s.starting)} starting`,
    s.waiting && `${count(s.waiting)} waiting their turn`,
    s.failed && `${count(s.failed)} failed`,
  ].filter((x): x is string => typeof x === 'string');
  if (s.draining) others.push(`${count(s.draining)} draining`);
  const budget = s.max !== null ? `; budget ${count(s.total + s.draining)} of ${count(s.max)} (serving.max_servers)` : '';
  return `model servers: ${count(s.live)} of ${count(s.total)} serving${others.length ? ` (${others.join(', ')})` : ''}${budget}`;
}

/** The daemon's runs against their limits in a line (null when none runs or waits). */
export function runsText(c: CapacityView): string | null {
  const r = c.runs;
  if (r.running + r.runningCloud + r.queued.length === 0) return null;
  return `runs: ${r.running} of ${r.max} on this machine, ${r.runningCloud} of ${r.maxCloud} on SageMaker, ${count(r.queued.length)} queued`;
}

/** Each queued run's place in the queue, 1 first. */
export function queuePositions(c: CapacityView | null | undefined): Map<string, number> {
  return new Map((c?.runs.queued ?? []).map((id, i) => [id, i + 1]));
}

/** A run's status for a one-line cell: a queued run says its place in the queue. */
export function runStatusText(run: { status: string }, queuedAt: number | undefined): string {
  return run.status === 'queued' && queuedAt !== undefined ? `queued #${queuedAt}` : run.status;
}

export function storageProblemText(s: StorageProblemView): string {
  return `storage: ${s.error} since ${new Date(s.since).toLocaleTimeString('en-GB')}: the daemon's database refuses writes (${s.failedWrites.toLocaleString('en-US')} refused, ${s.pendingWrites} waiting); serving goes on, changes are written once it has room`;
}

/** `3ms`, `12ms`, `1.5s`: a latency as short as it reads. */
export function millis(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)}s` : `${latencyNumber(ms)}ms`;
}

/** `3/12ms` (p50/p99; `45ms/1.5s` once a second is reached), `-` without traffic. */
export function latencyPair(p50: number | null, p99: number | null): string {
  if (p50 === null || p99 === null) return '-';
  return p99 < 1000 ? `${latencyNumber(p50)}/${millis(p99)}` : `${millis(p50)}/${millis(p99)}`;
}

const latencyNumber = (ms: number) => (ms < 10 ? +ms.toFixed(1) : Math.round(ms));

/** `$0.46`, `$166`, `$1,234`: cents below $100, whole dollars above. */
export function usd(n: number): string {
  if (n > 0 && n < 0.005) return '<$0.01';
  return n < 100 ? `$${n.toFixed(2)}` : `$${Math.round(n).toLocaleString('en-US')}`;
}

/** HH:MM:SS in UTC, like the rest of mlp's times. */
export const clock = (at: number) => new Date(at).toISOString().slice(11, 19);

/** One line, at most `width` characters (an ellipsis shows the cut). */
export function fit(text: string, width: number): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  if (width <= 0) return '';
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

/** A decision's figure: numbers rounded, rates as given, objects as short JSON. */
export function figure(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(3));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
