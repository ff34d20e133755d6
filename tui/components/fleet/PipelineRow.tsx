/** One pipeline on one line: name, phase, versions, traffic, candidate error rate, next step, latency, serving cost, last run. */
import { Box, Text } from 'ink';
import { memo } from 'react';
import type { PipelineSummary } from '../../../shared/protocol.js';
import { attentionOf, trafficSplit } from '../../state/selectors.js';
import { servingPerMonth } from '../../costs.js';
import { ago, fit, latencyPair, nextStepCell, rate, runStatusText } from '../common/format.js';
import { Phase } from '../common/Phase.js';
import { TrafficBar } from '../common/TrafficBar.js';
import type { FleetColumns } from './columns.js';

export const PipelineRow = memo(function PipelineRow({
  p,
  cols,
  selected,
  now,
  queuedAt,
}: {
  p: PipelineSummary;
  cols: FleetColumns;
  selected: boolean;
  now: number;
  /** The latest run's place in the daemon's queue, when it is queued. */
  queuedAt?: number | undefined;
}) {
  const attention = attentionOf(p);
  const versions =
    p.rollout && p.rollout.phase !== 'promoted' ? `${p.rollout.currentVersion ?? '∅'}→${p.rollout.candidateVersion}` : (p.current ?? '-');
  const err = p.candidateErrorRate;
  const threshold = p.rollout?.errorRateThreshold ?? null;
  const errText = err !== undefined ? `${rate(err)}${threshold !== null ? ` / ${rate(threshold)}` : ''}` : '-';
  const over = err !== undefined && threshold !== null && err > threshold;
  const run = p.lastRun;
  const latency = p.latency;
  return (
    <Box>
      <Text color={attention ? 'red' : undefined} inverse={selected}>
        {selected ? '›' : attention ? '!' : ' '}{' '}
      </Text>
      <Text bold={selected} inverse={selected}>
        {cell(p.name, cols.name)}
      </Text>
      <Text> </Text>
      <Phase pipeline={p} width={cols.phase} />
      {cols.versions > 0 && <Text> {cell(versions, cols.versions)}</Text>}
      <Text> </Text>
      <TrafficBar split={trafficSplit(p)} width={cols.bar} />
      <Text color={over ? 'red' : undefined}> {cell(errText, cols.error)}</Text>
      {cols.next > 0 && (
        <Text color={p.rollout?.phase === 'paused' ? 'yellow' : undefined}> {cell(nextCell(p, now, cols.next), cols.next)}</Text>
      )}
      {cols.latency > 0 && <Text> {cell(latency ? latencyPair(latency.p50Ms, latency.p99Ms) : '-', cols.latency)}</Text>}
      {cols.cost > 0 && <Text> {cell(servingPerMonth({ estimatedUsdPer30Days: p.servingUsdPer30Days ?? null }) ?? '-', cols.cost)}</Text>}
      {cols.lastRun > 0 && <Text dimColor> {fit(run ? `${runStatusText(run, queuedAt)} ${ago(run.at, now)}` : '-', cols.lastRun)}</Text>}
    </Box>
  );
});

const cell = (text: string, width: number) => fit(text, width).padEnd(width);

/** When the rollout's next traffic step is due; "paused" says why a shifting rollout has none. */
function nextCell(p: PipelineSummary, now: number, width: number): string {
  const text = nextStepCell(p.rollout, now);
  // `in 45s → promote` is one wider than the column: the time and the target matter more than "in".
  return text.length > width ? text.replace(/^in /, '') : text;
}
