/** One line: the pipeline's last notification, or what is wrong with its targets (docs/notifications.md). */
import { Text } from 'ink';
import type { PipelineView } from '../../../shared/protocol.js';
import { deliveryText, notificationProblems } from '../../notifications.js';
import { ago, fit } from '../common/format.js';

/** Lines the view takes: one when the pipeline has targets or deliveries, else none. */
export const notificationLinesWanted = (p: PipelineView) =>
  p.notifications && (p.notifications.targets.length || p.notifications.recent.length) ? 1 : 0;

export function Notifications({ p, width, now }: { p: PipelineView; width: number; now: number }) {
  if (!notificationLinesWanted(p)) return null;
  const problem = notificationProblems(p.notifications, now)[0];
  if (problem) return <Text color="red">{fit(`notify: ${problem}`, width)}</Text>;
  const last = p.notifications!.recent[0];
  if (!last)
    return <Text dimColor>{fit(`notify: ${p.notifications!.targets.map((t) => t.target).join(', ')}: nothing sent yet`, width)}</Text>;
  return (
    <Text color={last.status === 'pending' ? 'yellow' : undefined} dimColor={last.status === 'delivered'}>
      {fit(`notify: ${deliveryText(last, now)} · ${ago(last.lastAttemptAt ?? last.createdAt, now)}`, width)}
    </Text>
  );
}
