/**
 * One pipeline: versions, phase and next step, traffic per group, gates (with failing data checks),
 * the failing-request browser, performance and cost, decisions. Fits its height: see layout.ts.
 */
import { Box, Text } from 'ink';
import { formatDuration } from '../../../shared/duration.js';
import { formatPercent } from '../../../shared/percent.js';
import { useTui } from '../../provider.js';
import { replaySamples } from '../../replay.js';
import { candidateErrors, summaryOf } from '../../../shared/fleet-summary.js';
import { attentionOf, groupSplits } from '../../state/selectors.js';
import { ago, fit, nextStepText, plural, rate } from '../common/format.js';
import { Phase } from '../common/Phase.js';
import { TrafficBar } from '../common/TrafficBar.js';
import { DataCheckFailures, dataCheckFailureLines } from './DataCheckFailures.js';
import { gateLineCount, Gates } from './Gates.js';
import { pipelineLayout } from './layout.js';
import { notificationLinesWanted, Notifications } from './Notifications.js';
import { costLinesWanted, Performance } from './Performance.js';
import { ReplayBrowser } from './ReplayBrowser.js';
import { ReplayProgress, replayProgressLines } from './ReplayProgress.js';
import { Timeline } from './Timeline.js';
import { trends } from './Trends.js';

const MAX_GROUP_BARS = 4;

export function PipelineView({ width, height }: { width: number; height: number }) {
  const { fleet, ui } = useTui();
  const p = ui.selected === null ? undefined : fleet.details[ui.selected];
  if (!p) {
    const inForce = fleet.pipelines.some((x) => x.name === ui.selected);
    return (
      <Text color="yellow">
        {inForce ? `loading ${ui.selected}…` : `${ui.selected ?? 'the pipeline'} is no longer in force (esc goes back)`}
      </Text>
    );
  }
  const r = p.rollout;
  const splits = groupSplits(p);
  const summary = summaryOf(p);
  const err = candidateErrors(p);
  const threshold = summary.rollout?.errorRateThreshold ?? null;
  const why = attentionOf(summary)?.why;
  const samples = replaySamples(r).length ? 4 : 0;
  const progress = r?.phase === 'replaying' ? (r.replayProgress ?? []) : [];
  const groupLines = Math.min(splits.length, MAX_GROUP_BARS) + (splits.length > MAX_GROUP_BARS ? 1 : 0);
  // title, why, group bars, the candidate's error line, gates, replay progress, failing requests, notifications
  const fixed =
    1 + (why ? 1 : 0) + groupLines + 1 + gateLineCount(r) + replayProgressLines(progress) + samples + notificationLinesWanted(p);
  const lines = pipelineLayout(height, fixed, {
    dataChecks: dataCheckFailureLines(p),
    trends: trends(p).length,
    costs: costLinesWanted(p),
  });
  const next = r?.nextStep ? ` · next step ${nextStepText(r.nextStep, fleet.at, formatDuration)}` : '';
  return (
    <Box flexDirection="column" width={width}>
      <Text>
        <Text bold>{p.name} </Text>
        <Phase pipeline={p} />
        <Text>
          {fit(
            r
              ? ` ${r.currentVersion ?? '∅'} → ${r.candidateVersion} at ${formatPercent(r.candidateWeight)}${next} · started ${ago(r.startedAt, fleet.at)}`
              : ` ${p.current?.version ?? 'never deployed'}`,
            width - p.name.length - 14,
          )}
        </Text>
      </Text>
      {why && <Text color="red">{fit(why, width)}</Text>}
      {splits.slice(0, MAX_GROUP_BARS).map((g) => (
        <Text key={g.group}>
          {fit(g.group, 14).padEnd(14)}{' '}
          <TrafficBar split={g.current + g.candidate ? g : null} width={Math.max(10, Math.min(40, width - 40))} />
        </Text>
      ))}
      {splits.length > MAX_GROUP_BARS && (
        <Text dimColor>{`+${splits.length - MAX_GROUP_BARS} more ${plural(splits.length - MAX_GROUP_BARS, 'group')}`}</Text>
      )}
      <Text>
        {fit(
          `candidate errors ${err ? `${rate(err.rate)} over ${err.requests} ${plural(err.requests, 'request')} (worst: ${err.group})` : '-'}${threshold !== null ? ` · rollback above ${rate(threshold)}` : ''}`,
          width,
        )}
      </Text>
      <Gates rollout={r} width={width} />
      <DataCheckFailures p={p} width={width} lines={lines.dataChecks} />
      <ReplayProgress progress={progress} width={width} />
      <ReplayBrowser p={p} index={ui.sample} width={width} />
      <Notifications p={p} width={width} now={fleet.at} />
      {lines.latency > 0 && (
        <Performance p={p} width={width} trends={lines.trends} costs={lines.costs} threshold={threshold} now={fleet.at} />
      )}
      <Timeline decisions={r?.decisions ?? []} width={width} lines={lines.timeline} />
    </Box>
  );
}
