/** Under a failed data-checks gate: each failing expectation (suite, type, column), what was found, and a few of the values at fault. */
import { Box, Text } from 'ink';
import type { PipelineView } from '../../../shared/protocol.js';
import { dataCheckFailures, type FailingExpectation } from '../../data-checks.js';
import { fit, plural } from '../common/format.js';

const LINES_EACH = 2;

/** Lines the failures would take with room for all of them. */
export function dataCheckFailureLines(p: PipelineView): number {
  return p.rollout?.gates.data_checks?.passed === false ? dataCheckFailures(p.rollout).length * LINES_EACH : 0;
}

/** At most `lines` lines: as many failures as fit, and a count of the rest. */
export function DataCheckFailures({ p, width, lines }: { p: PipelineView; width: number; lines: number }) {
  if (p.rollout?.gates.data_checks?.passed !== false || lines <= 0) return null;
  const failures = dataCheckFailures(p.rollout);
  const fits = failures.length * LINES_EACH <= lines;
  const shown = fits ? failures : failures.slice(0, Math.floor((lines - 1) / LINES_EACH));
  const rest = failures.length - shown.length;
  return (
    <Box flexDirection="column">
      {shown.map((f, i) => (
        <Box key={i} flexDirection="column">
          <Text color="red">
            {fit(`  ✖ ${f.suite}: ${f.expectation ?? `cannot check ${f.data}`}${f.column ? ` (${f.column})` : ''}`, width)}
          </Text>
          <Text>{fit(`      ${detail(f)}`, width)}</Text>
        </Box>
      ))}
      {rest > 0 && (
        <Text dimColor>
          {fit(`  +${rest} more failing ${plural(rest, 'expectation')} (mlp status --json has the whole report)`, width)}
        </Text>
      )}
    </Box>
  );
}

const detail = (f: FailingExpectation) => `${f.outcome}${f.sample.length ? `, e.g. ${f.sample.join(', ')}` : ''}`;
