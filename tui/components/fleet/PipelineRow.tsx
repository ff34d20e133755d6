/** One pipeline on one line: name, phase, versions, traffic, candidate error rate, last run. */
import { Box, Text } from 'ink';
import { memo } from 'react';
import type { PipelineView } from '../../../shared/protocol.js';
import { attentionOf, candidateErrorRate, errorRateThreshold, trafficSplit } from '../../state/selectors.js';
import { ago, fit, rate } from '../common/format.js';
import { Phase } from '../common/Phase.js';
import { TrafficBar } from '../common/TrafficBar.js';
import type { FleetColumns } from './columns.js';

export const PipelineRow = memo(function PipelineRow({ p, cols, selected, now }: { p: PipelineView; cols: FleetColumns; selected: boolean; now: number }) {
  const attention = attentionOf(p);
  const versions = p.rollout && p.rollout.phase !== 'promoted' ? `${p.rollout.currentVersion ?? '∅'}→${p.rollout.candidateVersion}` : (p.current?.version ?? '-');
  const err = candidateErrorRate(p);
  const threshold = errorRateThreshold(p);
  const errText = err ? `${rate(err.rate)}${threshold !== null ? ` / ${rate(threshold)}` : ''}` : '-';
  const over = err !== null && threshold !== null && err.rate > threshold;
  const run = p.runs[0];
  return (
    <Box>
      <Text color={attention ? 'red' : undefined} inverse={selected}>{selected ? '›' : attention ? '!' : ' '} </Text>
      <Text bold={selected} inverse={selected}>{fit(p.name, cols.name).padEnd(cols.name)}</Text>
      <Text> </Text>
      <Phase pipeline={p} width={cols.phase} />
      <Text> {fit(versions, cols.versions).padEnd(cols.versions)} </Text>
      <TrafficBar split={trafficSplit(p)} width={cols.bar} />
      <Text color={over ? 'red' : undefined}> {fit(errText, cols.error).padEnd(cols.error)}</Text>
      {cols.lastRun > 0 && <Text dimColor> {fit(run ? `${run.status} ${ago(run.finishedAt ?? run.startedAt ?? run.createdAt, now)}` : '-', cols.lastRun)}</Text>}
    </Box>
  );
});
