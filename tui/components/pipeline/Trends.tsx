/**
 * The last minutes of live traffic as sparklines (one point per history interval, newest right):
 * the error rates of candidate and current, then their p99 latency. Each pair shares a scale so the
 * roles compare; a candidate point above the rollback threshold is red.
 */
import { Box, Text } from 'ink';
import type { HistoryPoint, PipelineView } from '../../../shared/protocol.js';
import { millis, rate } from '../common/format.js';
import { sparkline } from '../common/sparkline.js';

export const TREND_LABEL = 9;
/** Room after the sparkline for its latest value. */
const VALUE = 7;
const MAX_POINTS = 60;

type Role = 'current' | 'candidate';

interface Trend {
  label: string;
  role: Role;
  kind: 'errors' | 'p99';
  values: Array<number | null>;
  /** The other role's series, which shares this one's scale. */
  peer: Array<number | null>;
}

const errorRates = (points: readonly HistoryPoint[], role: Role) => points.map((x) => (x[role] && x[role].requests > 0 ? x[role].errors / x[role].requests : null));
const p99s = (points: readonly HistoryPoint[], role: Role) => points.map((x) => x[role]?.p99Ms ?? null);

/** The sparklines this pipeline has, most telling first; the candidate's only once it served in the span. */
export function trends(p: PipelineView): Trend[] {
  const points = p.performance.history.points;
  if (points.length === 0) return [];
  const err = { candidate: errorRates(points, 'candidate'), current: errorRates(points, 'current') };
  const p99 = { candidate: p99s(points, 'candidate'), current: p99s(points, 'current') };
  const all: Trend[] = [
    { label: 'cand err', role: 'candidate', kind: 'errors', values: err.candidate, peer: err.current },
    { label: 'curr err', role: 'current', kind: 'errors', values: err.current, peer: err.candidate },
    { label: 'cand p99', role: 'candidate', kind: 'p99', values: p99.candidate, peer: p99.current },
    { label: 'curr p99', role: 'current', kind: 'p99', values: p99.current, peer: p99.candidate },
  ];
  return points.some((x) => x.candidate !== null) ? all : all.filter((t) => t.role === 'current');
}

/** `lines` of them at most; `threshold`: the rollback error rate, when known. */
export function Trends({ p, width, lines, threshold }: { p: PipelineView; width: number; lines: number; threshold: number | null }) {
  const shown = trends(p).slice(0, Math.max(0, lines));
  if (shown.length === 0) return null;
  const spark = Math.max(8, Math.min(MAX_POINTS, width - TREND_LABEL - VALUE - 1));
  return (
    <Box flexDirection="column">
      {shown.map((t) => {
        const values = t.values.slice(-spark);
        // Error rates scale to the threshold at least, so a full bar means "at the rollback line".
        let max = t.kind === 'errors' && threshold !== null ? threshold : 0;
        for (const v of [...values, ...t.peer.slice(-spark)]) if (v !== null && v > max) max = v;
        const line = sparkline(values, spark, { max });
        const latest = [...values].reverse().find((v) => v !== null);
        const limit = t.role === 'candidate' && t.kind === 'errors' ? threshold : null;
        const format = t.kind === 'errors' ? rate : millis;
        return (
          <Text key={t.label}>
            <Text>{t.label.padEnd(TREND_LABEL)}</Text>
            {runs(line, values, limit).map((r, i) => (
              <Text key={i} color={r.over ? 'red' : t.role === 'candidate' ? 'blue' : 'green'}>
                {r.text}
              </Text>
            ))}
            <Text> {latest == null ? '-' : format(latest)}</Text>
          </Text>
        );
      })}
    </Box>
  );
}

/** The line cut where points cross `limit`, so those above it can be coloured. */
function runs(line: string, values: Array<number | null>, limit: number | null): Array<{ text: string; over: boolean }> {
  if (limit === null) return [{ text: line, over: false }];
  const pad = line.length - values.length;
  const out: Array<{ text: string; over: boolean }> = [];
  for (let i = 0; i < line.length; i++) {
    const v = i < pad ? null : values[i - pad];
    const over = v != null && v > limit;
    const last = out.at(-1);
    if (last && last.over === over) last.text += line[i];
    else out.push({ text: line[i]!, over });
  }
  return out;
}
