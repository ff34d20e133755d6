/** Every pipeline, what needs a person first; only the rows that fit are rendered, so a large fleet stays fast. */
import { Box, Text } from 'ink';
import type { CapacityView } from '../../../shared/protocol.js';
import { useMemo } from 'react';
import { useTui } from '../../provider.js';
import { attentionOf, fleetCounts, fleetRows } from '../../state/selectors.js';
import { fit, plural, queuePositions, storageProblemText } from '../common/format.js';
import { fleetColumns, fleetHeader } from './columns.js';
import { PipelineRow } from './PipelineRow.js';

export function FleetView({ width, height }: { width: number; height: number }) {
  const { fleet, ui } = useTui();
  const rows = useMemo(() => fleetRows(fleet.pipelines, ui.filter), [fleet.pipelines, ui.filter]);
  const counts = useMemo(() => fleetCounts(fleet.pipelines), [fleet.pipelines]);
  // Memoised, so rows whose pipeline did not change skip rendering (PipelineRow is memo'd on its props).
  const cols = useMemo(() => fleetColumns(width), [width]);
  // Until the first selection lands, the top row is the selected one (perform() agrees).
  const selectedIndex = Math.max(
    0,
    rows.findIndex((p) => p.name === ui.selected),
  );
  const selected = rows[selectedIndex];
  const why = selected ? attentionOf(selected)?.why : undefined;
  // header, column titles, filter line, the selected pipeline's trouble, status line (and the storage problem)
  const visible = Math.max(1, height - 5 - (fleet.storage ? 1 : 0));
  const first = Math.min(Math.max(0, selectedIndex - visible + 1), Math.max(0, rows.length - visible));
  const shown = rows.slice(first, first + visible);
  const positions = useMemo(() => queuePositions(fleet.capacity), [fleet.capacity]);
  const load = fleet.capacity ? capacityBrief(fleet.capacity) : '';
  const header = `mlp · ${counts.total} ${plural(counts.total, 'pipeline')} · ${counts.attention} ${counts.attention === 1 ? 'needs' : 'need'} you · ${counts.active} rolling out${load}${rows.length > visible ? ` · ${first + 1}-${first + shown.length} of ${rows.length}` : ''}`;
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{fit(header, width)}</Text>
      {fleet.storage && <Text color="red">{fit(storageProblemText(fleet.storage), width)}</Text>}
      <Text dimColor>{fit(fleetHeader(cols), width)}</Text>
      {shown.map((p) => (
        <PipelineRow
          key={p.name}
          p={p}
          cols={cols}
          selected={p.name === selected?.name}
          now={fleet.at}
          queuedAt={p.lastRun?.id !== undefined ? positions.get(p.lastRun.id) : undefined}
        />
      ))}
      {rows.length === 0 && (
        <Text dimColor>
          {fleet.pipelines.length ? `no pipeline matches "${ui.filter}"` : 'no pipelines in force (add a pipeline.yaml to the repo)'}
        </Text>
      )}
      {(ui.filterEditing || ui.filter) && <Text color="cyan">{fit(`/${ui.filter}${ui.filterEditing ? '▏' : ''}`, width)}</Text>}
      {why && <Text color="red">{fit(`${selected!.name}: ${why}`, width)}</Text>}
    </Box>
  );
}

/** Servers and runs for the header: ` · servers 412/1,000 · runs 2/2 +0/10 cloud, 198 queued` (parts with nothing to say are left out). */
function capacityBrief(c: CapacityView): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const parts: string[] = [];
  const s = c.servers;
  if (s.total || s.max !== null)
    parts.push(
      `servers ${n(s.live)}/${n(s.total)}${s.failed ? ` (${n(s.failed)} failed)` : ''}${s.max !== null ? ` budget ${n(s.total + s.draining)}/${n(s.max)}` : ''}`,
    );
  const r = c.runs;
  if (r.running + r.runningCloud + r.queued.length)
    parts.push(
      `runs ${r.running}/${r.max}${r.runningCloud ? ` +${r.runningCloud}/${r.maxCloud} cloud` : ''}${r.queued.length ? `, ${n(r.queued.length)} queued` : ''}`,
    );
  return parts.map((p) => ` · ${p}`).join('');
}
