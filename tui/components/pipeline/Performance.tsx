/**
 * How the pipeline answers and what it costs: latency and errors over the last minute, the trends
 * (sparklines) of the last minutes, and the cost estimates of its last training run and of serving.
 */
import { Box, Text } from 'ink';
import { formatDuration } from '../../../shared/duration.js';
import type { PipelineView } from '../../../shared/protocol.js';
import { pricesText, servingText, trainingText } from '../../costs.js';
import { fit, millis, plural, rate, shortDuration } from '../common/format.js';
import { TREND_LABEL, trendSlots, Trends } from './Trends.js';

const label = (text: string) => text.padEnd(TREND_LABEL);

/** `last 1m  p50 3ms · p99 12ms · 0.5% errors of 1,000 requests · graphs: last 5m` */
export function LatencyLine({ p, width }: { p: PipelineView; width: number }) {
  const l = p.performance.latency;
  const h = p.performance.history;
  const span = h.points.length ? ` · graphs: last ${shortDuration(trendSlots(width) * h.intervalMs)}` : '';
  const text =
    l && l.requests > 0
      ? `p50 ${l.p50Ms === null ? '-' : millis(l.p50Ms)} · p99 ${l.p99Ms === null ? '-' : millis(l.p99Ms)} · ${rate(l.errorRate)} errors of ${l.requests.toLocaleString('en-US')} ${plural(l.requests, 'request')}`
      : 'no traffic';
  return <Text>{fit(label(`last ${formatDuration(l?.windowMs ?? 60_000)}`) + text + span, width)}</Text>;
}

/** The cost lines, most useful first: the last training (two lines, or one when short of room), serving, the price table. */
export function costLines(p: PipelineView, lines: number): string[] {
  const perf = p.performance;
  const training = trainingText(perf.training);
  const full = [
    label('training') + training[0],
    ...(training[1] ? [label('') + training[1]] : []),
    label('serving') + servingText(perf.serving),
    label('prices') + pricesText(perf.prices),
  ];
  if (full.length <= lines) return full;
  return [label('training') + training.join('; '), ...full.slice(training.length)].slice(0, Math.max(0, lines));
}

/** Lines the cost block takes with room for all of it. */
export const costLinesWanted = (p: PipelineView) => costLines(p, Infinity).length;

export function Performance(props: {
  p: PipelineView;
  width: number;
  trends: number;
  costs: number;
  threshold: number | null;
  now: number;
}) {
  const { p, width, costs } = props;
  return (
    <Box flexDirection="column">
      <LatencyLine p={p} width={width} />
      <Trends p={p} width={width} lines={props.trends} threshold={props.threshold} now={props.now} />
      {costLines(p, costs).map((line, i) => (
        <Text key={i} dimColor={line.startsWith(label('prices'))}>
          {fit(line, width)}
        </Text>
      ))}
    </Box>
  );
}
