/**
 * The selected pipeline's logs, followed: lines go out through `<Static>` (written once, never
 * re-rendered), with one live line under them.
 */
import { Static, Text } from 'ink';
import { useRef } from 'react';
import { formatLogLine } from '../../commands/tail.js';
import { useTui } from '../../provider.js';
import type { LogEntry } from '../../state/fleet.js';
import { fit, plural } from '../common/format.js';

export function LogsView({ width }: { width: number }) {
  const { fleet, ui, colour } = useTui();
  // <Static> prints items past the count it has seen, so it gets an append-only list even though the store keeps a bounded one.
  const printed = useRef<{ seq: number; lines: LogEntry[] }>({ seq: 0, lines: [] });
  const fresh = (fleet.logs[ui.selected ?? ''] ?? []).filter((l) => l.seq > printed.current.seq);
  if (fresh.length) printed.current = { seq: Math.max(...fresh.map((l) => l.seq)), lines: [...printed.current.lines, ...fresh] };
  return (
    <>
      <Static items={printed.current.lines}>{(line) => <Text key={line.seq}>{formatLogLine(line, colour)}</Text>}</Static>
      <Text color="cyan">
        {fit(
          `following the logs of ${ui.selected} (${printed.current.lines.length} ${plural(printed.current.lines.length, 'line')}) · esc back`,
          width,
        )}
      </Text>
    </>
  );
}
