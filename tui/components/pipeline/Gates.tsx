/** One line per gate; for replay, its counts and checks per group. */
import { Box, Text } from 'ink';
import type { PipelineView } from '../../../shared/protocol.js';
import { replayCounts } from '../../replay.js';
import { figure, fit, plural } from '../common/format.js';

export function Gates({ p, width }: { p: PipelineView; width: number }) {
  const gates = Object.entries(p.rollout?.gates ?? {});
  if (gates.length === 0) return <Text dimColor>gates: none run yet</Text>;
  return (
    <Box flexDirection="column">
      {gates.map(([name, g]) => (
        <Text key={name} color={g.passed ? (g.skipped ? 'gray' : 'green') : 'red'}>
          {fit(`${g.passed ? (g.skipped ? '-' : '✔') : '✖'} ${name.replace('_', ' ')}: ${g.summary}`, width)}
        </Text>
      ))}
      {replayCounts(p).map((c) => (
        <Text key={c.group} dimColor>
          {fit(
            `  replay ${c.group}: ${c.sent ?? '?'} sent, ${c.regressions ?? 0} ${plural(c.regressions ?? 0, 'regression')}, ${c.flaky ?? 0} flaky${c.checks.map((k) => ` · ${k.passed ? '✔' : '✖'} ${k.rule} (${figure(k.observed)} vs ${figure(k.threshold)})`).join('')}`,
            width,
          )}
        </Text>
      ))}
    </Box>
  );
}
