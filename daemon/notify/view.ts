/** A pipeline's notifications as clients see them: targets by their redacted names, the last deliveries and failures. */
import { expandUrl, targetLabel, type NotifyTargetConfig } from '../../shared/config/notify.js';
import type { NotificationView, NotificationsView } from '../../shared/protocol.js';
import type { Notification } from '../store/notifications.js';

/** `sent`: the pipeline's newest notifications and newest failed ones, as the store keeps them (store/fleet-reads.ts). */
export function notificationsViewOf(
  sent: { recent: Notification[]; failures: Notification[] },
  targets: readonly NotifyTargetConfig[],
  env: Readonly<Record<string, string | undefined>>,
): NotificationsView {
  const view = (n: Notification): NotificationView => ({
    eventId: n.eventId,
    event: n.event,
    target: targetLabel(n.target, env),
    status: n.status,
    attempts: n.attempts,
    lastStatus: n.lastStatus,
    lastError: n.lastError,
    createdAt: n.createdAt,
    lastAttemptAt: n.lastAttemptAt,
    nextAttemptAt: n.status === 'pending' ? n.nextAttemptAt : null,
    finishedAt: n.finishedAt,
    text: typeof n.payload.text === 'string' ? n.payload.text : '',
  });
  return {
    targets: targets.map((t) => ({ target: targetLabel(t.url, env), on: [...t.on], problem: unsetProblem(t.url, env) })),
    recent: sent.recent.map(view),
    failures: sent.failures.map(view),
  };
}

/** Why deliveries to a target cannot work in this daemon: variables its URL uses that are not set. */
export function unsetProblem(template: string, env: Readonly<Record<string, string | undefined>>): string | null {
  const expanded = expandUrl(template, env);
  if ('url' in expanded) return null;
  const names = expanded.unset.map((v) => `\${${v}}`).join(', ');
  return `${names} ${expanded.unset.length === 1 ? 'is' : 'are'} not set in mlpd's environment: deliveries to it fail until mlpd is started with it`;
}
