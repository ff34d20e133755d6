/** The key table, as the help overlay shows it; operator keys are marked off for a viewer. */
import { Box, Text } from 'ink';
import { KEY_BINDINGS } from '../../keys.js';
import { operatorBlock } from '../../perform.js';
import { useTui } from '../../provider.js';
import { fit } from './format.js';

export function HelpOverlay({ width }: { width: number }) {
  const { fleet } = useTui();
  const blocked = operatorBlock(fleet);
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={width}>
      <Text bold>keys</Text>
      {KEY_BINDINGS.map((b) => (
        <Text key={`${b.scope ?? 'main'}:${b.command}`} dimColor={b.operatorOnly === true && blocked !== null}>
          {b.label.padEnd(9)} {fit(b.description, width - 15)}
        </Text>
      ))}
      {blocked && <Text color="yellow">{fit(`disabled: ${blocked}`, width - 4)}</Text>}
    </Box>
  );
}
