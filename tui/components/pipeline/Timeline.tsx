/** The rollout's decisions, newest last: time, phase, verdict, rule, observed vs threshold, reason. */
import { Box, Text } from 'ink';
import type { DecisionView } from '../../../shared/protocol.js';
import { clock, figure, fit } from '../common/format.js';

const VERDICT_COLOUR: Record<string, string> = {
  block: 'red',
  fail: 'red',
  rollback: 'magenta',
  hold: 'yellow',
  promote: 'green',
  advance: 'cyan',
};

export function Timeline({ decisions, width, lines }: { decisions: DecisionView[]; width: number; lines: number }) {
  if (lines <= 0) return null;
  if (decisions.length === 0) return <Text dimColor>no decisions yet</Text>;
  // One line has room for the last decision only; more lines take a heading first.
  const shown = decisions.slice(-Math.max(1, lines - 1));
  return (
    <Box flexDirection="column">
      {lines > 1 && (
        <Text bold>{`decisions${decisions.length > shown.length ? ` (last ${shown.length} of ${decisions.length})` : ''}`}</Text>
      )}
      {shown.map((d, i) => {
        const figures = d.observed === null && d.threshold === null ? '' : ` ${figure(d.observed)} vs ${figure(d.threshold)}`;
        return (
          <Text key={`${d.at}-${i}`}>
            <Text dimColor>{clock(d.at)} </Text>
            <Text color={VERDICT_COLOUR[d.verdict]}>{d.verdict.padEnd(8)}</Text>
            <Text>{fit(` ${d.phase} ${d.rule}${figures}: ${d.reason}`, width - 18)}</Text>
          </Text>
        );
      })}
    </Box>
  );
}
