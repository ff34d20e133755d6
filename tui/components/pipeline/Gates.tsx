/** One line per gate; for replay, its counts and checks per group. */
import { Box, Text } from 'ink';
import type { RolloutView } from '../../../shared/protocol.js';
import { gateLine, gatesRun, gateTone, replayCountsLine, unreadableReportLine, type GateTone } from '../../gates.js';
import { replayCounts } from '../../replay.js';
import { fit } from '../common/format.js';

const COLOUR: Record<GateTone, string> = { passed: 'green', skipped: 'gray', failed: 'red' };

/** Lines the gates take (at least one: "none run yet"). */
export function gateLineCount(r: RolloutView | null | undefined): number {
  const gates = gatesRun(r);
  return Math.max(1, gates.length + gates.filter(([gate, g]) => unreadableReportLine(gate, g) !== null).length + replayCounts(r).length);
}

export function Gates({ rollout, width }: { rollout: RolloutView | null | undefined; width: number }) {
  const gates = gatesRun(rollout);
  if (gates.length === 0) return <Text dimColor>gates: none run yet</Text>;
  return (
    <Box flexDirection="column">
      {gates.map(([gate, g]) => {
        const unreadable = unreadableReportLine(gate, g);
        return (
          <Box key={gate} flexDirection="column">
            <Text color={COLOUR[gateTone(g)]}>{fit(gateLine(gate, g), width)}</Text>
            {unreadable && <Text color="yellow">{fit(unreadable, width)}</Text>}
          </Box>
        );
      })}
      {replayCounts(rollout).map((c) => (
        <Text key={c.group} dimColor>
          {fit(replayCountsLine(c), width)}
        </Text>
      ))}
    </Box>
  );
}
