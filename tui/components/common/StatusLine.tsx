/** The bottom line: an open question, else the last outcome, else the connection when it is not healthy. */
import { Text } from 'ink';
import { useTui } from '../../provider.js';
import { fit } from './format.js';

const TONE = { pending: 'yellow', ok: 'green', error: 'red', info: 'yellow' } as const;

export function StatusLine({ width }: { width: number }) {
  const { fleet, ui } = useTui();
  if (ui.confirm) {
    const verb = ui.confirm.command === 'promote' ? 'promote' : 'roll back';
    return (
      <Text bold color="yellow">
        {fit(`${verb} ${ui.confirm.pipeline}? y/n`, width)}
      </Text>
    );
  }
  const c = fleet.connection;
  if (c.status === 'disconnected') return <Text color="red">{fit(`disconnected, retrying… (${c.reason})`, width)}</Text>;
  if (ui.outcome) return <Text color={TONE[ui.outcome.tone]}>{fit(ui.outcome.text, width)}</Text>;
  if (c.status === 'connecting') return <Text color="yellow">connecting to mlpd…</Text>;
  return (
    <Text dimColor>
      {fit('↑↓ select · enter open · p promote · r roll back · space pause · l logs · / filter · ? help · q quit', width)}
    </Text>
  );
}
