/**
 * The last minutes of live traffic as sparklines, one block per history interval, newest right: the
 * error rates of candidate and current, then their p99 latency. Each pair shares a scale so the
 * roles compare; a candidate point above the rollback threshold is red.
 */
import { Box, Text } from 'ink';
import type { HistoryPoint, PipelineView, VariantView } from '../../../shared/protocol.js';
import { millis, rate } from '../common/format.js';
import { sparkline } from '../common/sparkline.js';
import { onTimeAxis } from './time-axis.js';

export const TREND_LABEL = 9;
/** Room after the sparkline for its latest value. */
const VALUE = 7;
/** As many intervals as the daemon keeps points. */
const MAX_SLOTS = 60;

type Role = VariantView['role'];

interface Trend {
  label: string;
  role: Role;
  kind: 'errors' | 'p99';
}

const TRENDS: readonly Trend[] = [
  { label: 'cand err', role: 'candidate', kind: 'errors' },
  { label: 'curr err', role: 'current', kind: 'errors' },
  { label: 'cand p99', role: 'candidate', kind: 'p99' },
  { label: 'curr p99', role: 'current', kind: 'p99' },
];

/** Intervals one sparkline spans at this terminal width. */
export const trendSlots = (width: number) => Math.max(8, Math.min(MAX_SLOTS, width - TREND_LABEL - VALUE - 1));

/** The sparklines this pipeline has, most telling first; the candidate's only once it served in the history. */
export function trends(p: PipelineView): readonly Trend[] {
  const points = p.performance.history.points;
  if (points.length === 0) return [];
  return points.some((x) => x.candidate !== null) ? TRENDS : TRENDS.filter((t) => t.role === 'current');
}

function series(slots: ReadonlyArray<HistoryPoint | null>, role: Role, kind: Trend['kind']): Array<number | null> {
  return slots.map((x) => {
    const s = x?.[role];
    if (!s || s.requests === 0) return null;
    return kind === 'errors' ? s.errors / s.requests : s.p99Ms;
  });
}

/** `lines` of them at most; `threshold`: the rollback error rate, when known; `now`: the daemon's clock. */
export function Trends({
  p,
  width,
  lines,
  threshold,
  now,
}: {
  p: PipelineView;
  width: number;
  lines: number;
  threshold: number | null;
  now: number;
}) {
  const shown = trends(p).slice(0, Math.max(0, lines));
  if (shown.length === 0) return null;
  const { intervalMs, points } = p.performance.history;
  const slots = onTimeAxis(points, intervalMs, trendSlots(width), now);
  return (
    <Box flexDirection="column">
      {shown.map((t) => {
        const values = series(slots, t.role, t.kind);
        const peer = series(slots, t.role === 'current' ? 'candidate' : 'current', t.kind);
        // Error rates scale to the threshold at least, so a full block means "at the rollback line".
        let max = t.kind === 'errors' && threshold !== null ? threshold : 0;
        for (const v of [...values, ...peer]) if (v !== null && v > max) max = v;
        const line = sparkline(values, values.length, { max });
        const latest = [...values].reverse().find((v) => v !== null);
        const limit = t.role === 'candidate' && t.kind === 'errors' ? threshold : null;
        return (
          <Text key={t.label}>
            <Text>{t.label.padEnd(TREND_LABEL)}</Text>
            {runs(line, values, limit).map((r, i) => (
              <Text key={i} color={r.over ? 'red' : t.role === 'candidate' ? 'blue' : 'green'}>
                {r.text}
              </Text>
            ))}
            <Text> {latest == null ? '-' : (t.kind === 'errors' ? rate : millis)(latest)}</Text>
          </Text>
        );
      })}
    </Box>
  );
}

/** The line cut where points cross `limit`, so those above it can be coloured. */
function runs(line: string, values: Array<number | null>, limit: number | null): Array<{ text: string; over: boolean }> {
  if (limit === null) return [{ text: line, over: false }];
  const out: Array<{ text: string; over: boolean }> = [];
  for (let i = 0; i < line.length; i++) {
    const v = values[i];
    const over = v != null && v > limit;
    const last = out.at(-1);
    if (last && last.over === over) last.text += line[i];
    else out.push({ text: line[i]!, over });
  }
  return out;
}
