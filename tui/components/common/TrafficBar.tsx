/** `█████░░░ 80|20`: the current share (green) and the candidate's (blue) of a traffic split. */
import { Text } from 'ink';
import type { TrafficSplit } from '../../state/selectors.js';

export function TrafficBar({ split, width }: { split: TrafficSplit | null; width: number }) {
  if (!split) return <Text dimColor>{'no traffic'.padEnd(width + 8)}</Text>;
  const total = split.current + split.candidate || 1;
  const cand = split.candidate > 0 ? Math.max(1, Math.round((split.candidate / total) * width)) : 0;
  // Fractional shares (12.5%) get whole-number labels that still add up (87|13); views with room show the exact figure.
  const candLabel = Math.round(split.candidate);
  const label = `${String(Math.round(split.current + split.candidate) - candLabel).padStart(3)}|${String(candLabel).padEnd(3)}`;
  return (
    <Text>
      <Text color="green">{'█'.repeat(width - cand)}</Text>
      <Text color="blue">{'▒'.repeat(cand)}</Text>
      <Text> {label}</Text>
    </Text>
  );
}
