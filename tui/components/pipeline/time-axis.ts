/**
 * History points on a time axis. An interval without traffic adds no point (docs/api.md,
 * "Performance and cost"), so the points alone would close up over quiet time; placed by their time
 * instead, the quiet shows as a gap.
 */
import type { HistoryPoint } from '../../../shared/protocol.js';

/**
 * `count` slots of `intervalMs`, oldest first, the newest point in the last slot. Once the clock
 * (`now`) is more than one interval past the newest point, the pipeline has gone quiet and its
 * points slide left.
 */
export function onTimeAxis(points: readonly HistoryPoint[], intervalMs: number, count: number, now: number): Array<HistoryPoint | null> {
  const slots: Array<HistoryPoint | null> = new Array(Math.max(0, count)).fill(null);
  const newest = points.at(-1);
  if (!newest || count <= 0 || intervalMs <= 0) return slots;
  // Counted from the newest point, rounded, so the sampler's jitter never puts two points in one slot.
  const quiet = Math.max(0, Math.floor((now - newest.at) / intervalMs) - 1);
  for (const p of points) {
    const back = Math.round((newest.at - p.at) / intervalMs) + quiet;
    if (back < count) slots[count - 1 - back] = p;
  }
  return slots;
}
