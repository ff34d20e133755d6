/** A pipeline's notifications in words, for `mlp status` and the TUI's pipeline view (docs/notifications.md). */
import { formatDuration } from '../shared/duration.js';
import type { NotificationView, NotificationsView } from '../shared/protocol.js';
import { ago, clock, plural } from './components/common/format.js';

/** `blocked → https://hooks.slack.com/services/*** delivered (HTTP 200, attempt 3)`, or why it was not. */
export function deliveryText(n: NotificationView, now: number): string {
  const head = `${n.event} → ${n.target}`;
  const tries = n.attempts > 1 ? `, attempt ${n.attempts}` : '';
  if (n.status === 'delivered') return `${head} delivered (HTTP ${n.lastStatus}${tries})`;
  if (n.status === 'failed') return `${head} failed: ${n.lastError}`;
  if (n.attempts === 0) return `${head} waiting to be sent`;
  const next = n.nextAttemptAt !== null && n.nextAttemptAt > now ? `, next try in ${formatDuration(n.nextAttemptAt - now)}` : '';
  return `${head} not delivered yet (${n.lastError}${tries}${next})`;
}

/** What is wrong with a pipeline's notifications: targets that cannot work, deliveries that failed in the last day. */
export function notificationProblems(view: NotificationsView | undefined, now: number): string[] {
  if (!view) return [];
  const targets = view.targets.flatMap((t) => (t.problem ? [`notify target ${t.target}: ${t.problem}`] : []));
  const failed = view.failures.filter((n) => now - (n.finishedAt ?? n.createdAt) < DAY_MS).slice(0, 1);
  return [...targets, ...failed.map((n) => `notification ${ago(n.finishedAt, now)}: ${deliveryText(n, now)}`)];
}

/** Every target and the last deliveries, newest first (`mlp status <pipeline>`). */
export function notificationLines(view: NotificationsView | undefined, now: number): string[] {
  if (!view || (view.targets.length === 0 && view.recent.length === 0)) return ['notifications: no notify targets (docs/notifications.md)'];
  const out = [`notifications: ${view.targets.length} ${plural(view.targets.length, 'target')}`];
  for (const t of view.targets) out.push(`  ${t.target} on ${t.on.join(', ')}${t.problem ? ` — ${t.problem}` : ''}`);
  for (const n of view.recent) out.push(`  ${clock(n.lastAttemptAt ?? n.createdAt)} ${deliveryText(n, now)}`);
  return out;
}

const DAY_MS = 86_400_000;
