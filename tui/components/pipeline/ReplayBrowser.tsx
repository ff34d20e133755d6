/** The failing replayed requests, one at a time (↑/↓): the request, the current answer, the candidate's. */
import { Box, Text } from 'ink';
import type { PipelineView } from '../../../shared/protocol.js';
import { describeAnswer, replaySamples } from '../../replay.js';
import { fit } from '../common/format.js';

export function ReplayBrowser({ p, index, width }: { p: PipelineView; index: number; width: number }) {
  const samples = replaySamples(p.rollout);
  if (samples.length === 0) return null;
  const s = samples[Math.min(index, samples.length - 1)]!;
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`failing request ${Math.min(index, samples.length - 1) + 1} of ${samples.length} (↑/↓) · ${s.group}`, width)}</Text>
      <Text>{fit(`  request   ${s.request}`, width)}</Text>
      <Text color="green">{fit(`  current   ${describeAnswer(s.current)}`, width)}</Text>
      <Text color="red">{fit(`  candidate ${describeAnswer(s.candidate)}`, width)}</Text>
    </Box>
  );
}
