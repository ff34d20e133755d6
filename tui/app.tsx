/** The TUI's frame: reads keys into named commands, and shows the view the UI state names. */
import { Box, useInput, useStdout } from 'ink';
import { useEffect, useState } from 'react';
import { commandFor, keyName } from './keys.js';
import { useTui } from './provider.js';
import { HelpOverlay } from './components/common/HelpOverlay.js';
import { StatusLine } from './components/common/StatusLine.js';
import { FleetView } from './components/fleet/FleetView.js';
import { LogsView } from './components/logs/LogsView.js';
import { PipelineView } from './components/pipeline/PipelineView.js';
import { fleetRows } from './state/selectors.js';

export function App(props: { columns?: number; rows?: number }) {
  const { fleet, ui, dispatchUi, perform } = useTui();
  const size = useTerminalSize();
  const width = props.columns ?? size.columns;
  const height = props.rows ?? size.rows;

  // Something is always selected while there is something to select.
  const first = ui.selected === null ? fleetRows(fleet.pipelines, ui.filter)[0]?.name : undefined;
  useEffect(() => {
    if (first !== undefined) dispatchUi({ type: 'select', name: first });
  }, [first, dispatchUi]);

  useInput((input, key) => {
    const name = keyName(input, key);
    if (ui.confirm) {
      const b = commandFor(name, 'confirm');
      if (b) perform(b.command);
      return;
    }
    if (ui.filterEditing) {
      if (name === 'return' || name === 'escape') {
        if (name === 'escape') dispatchUi({ type: 'back' });
        dispatchUi({ type: 'filter-done' });
        const top = fleetRows(fleet.pipelines, name === 'escape' ? '' : ui.filter)[0];
        dispatchUi({ type: 'select', name: top?.name ?? null });
      } else if (name === 'backspace') dispatchUi({ type: 'filter-backspace' });
      else if (input && !key.ctrl && !key.meta) dispatchUi({ type: 'filter-input', text: input });
      return;
    }
    const b = commandFor(name);
    if (b) perform(b.command);
  });

  const body = height - 1;
  return (
    <Box flexDirection="column" width={width}>
      {ui.help ? (
        <HelpOverlay width={Math.min(width, 90)} />
      ) : ui.view === 'logs' ? (
        <LogsView width={width} />
      ) : ui.view === 'pipeline' ? (
        <PipelineView width={width} height={body} />
      ) : (
        <FleetView width={width} height={body} />
      )}
      <StatusLine width={width} />
    </Box>
  );
}

function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  });
  return size;
}
