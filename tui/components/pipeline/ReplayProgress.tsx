/** While replaying: how far each group's replay has got, `done of total` requests with a bar (or just `done` before the total is known). */
import { Box, Text } from 'ink';
import type { RolloutView } from '../../../shared/protocol.js';
import { fit, plural } from '../common/format.js';

type Progress = NonNullable<RolloutView['replayProgress']>;

/** Groups beyond this are summed up in one line, so a many-city rollout keeps room for the rest. */
export const MAX_PROGRESS_LINES = 4;
const BAR = 20;

/** Lines the component takes for this progress (the layout reserves them). */
export function replayProgressLines(progress: Progress): number {
  return Math.min(progress.length, MAX_PROGRESS_LINES) + (progress.length > MAX_PROGRESS_LINES ? 1 : 0);
}

function replayed(progress: Progress): string {
  const done = progress.reduce((n, p) => n + p.done, 0);
  return `${done} ${plural(done, 'request')}`;
}

export function ReplayProgress({ progress, width }: { progress: Progress; width: number }) {
  if (!progress.length) return null;
  const rest = progress.slice(MAX_PROGRESS_LINES);
  return (
    <Box flexDirection="column">
      {progress.slice(0, MAX_PROGRESS_LINES).map((p) => {
        const filled = p.total ? Math.min(BAR, Math.round((p.done / p.total) * BAR)) : 0;
        return (
          <Text key={p.group}>
            <Text>{fit(`replaying ${p.group}`, 24).padEnd(24)} </Text>
            {p.total !== null && (
              <Text>
                <Text color="blue">{'▒'.repeat(filled)}</Text>
                <Text dimColor>{'░'.repeat(BAR - filled)}</Text>{' '}
              </Text>
            )}
            <Text>
              {fit(
                `${p.done}${p.total !== null ? ` of ${p.total}` : ''} ${plural(p.total ?? p.done, 'request')}`,
                Math.max(0, width - 25 - (p.total !== null ? BAR + 1 : 0)),
              )}
            </Text>
          </Text>
        );
      })}
      {rest.length > 0 && (
        <Text dimColor>{fit(`+${rest.length} more ${plural(rest.length, 'group')}: ${replayed(rest)} replayed`, width)}</Text>
      )}
    </Box>
  );
}
