/** `█████░░░ 80|20`: the current share (green) and the candidate's (blue) of a traffic split. */
import { Text } from 'ink';
import type { TrafficSplit } from '../../state/selectors.js';

export function TrafficBar({ split, width }: { split: TrafficSplit | null; width: number }) {
  if (!split) return <Text dimColor>{'no traffic'.padEnd(width + 8)}</Text>;
  const total = split.current + split.candidate || 1;
  const cand = split.candidate > 0 ? Math.max(1, Math.round((split.candidate / total) * width)) : 0;
  const label = `${String(Math.round(split.current)).padStart(3)}|${String(Math.round(split.candidate)).padEnd(3)}`;
  return (
    <Text>
      <Text color="green">{'█'.repeat(width - cand)}</Text>
      <Text color="blue">{'▒'.repeat(cand)}</Text>
      <Text> {label}</Text>
    </Text>
  );
}
