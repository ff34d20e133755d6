/**
 * `▁▂▄█ ▃`: a series as one line of block characters, newest on the right. A null (nothing served in
 * that interval) is a gap, so an idle spell does not pass for a healthy one.
 */
export const SPARK_BLOCKS = '▁▂▃▄▅▆▇█';

export interface SparkScale {
  /** The value drawn as ▁ (default 0: rates and latencies read against zero, not against their own minimum). */
  min?: number;
  /** The value drawn as █ and above (default: the largest value shown). */
  max?: number;
}

/**
 * Exactly `width` characters: the last `width` values, with gaps on the left when there are fewer.
 * Any value above `min` gets at least ▂, so a few errors never look like none.
 */
export function sparkline(values: readonly (number | null)[], width: number, scale: SparkScale = {}): string {
  if (width <= 0) return '';
  const shown = values.slice(-width);
  const lo = scale.min ?? 0;
  let hi = scale.max ?? lo;
  if (scale.max === undefined) for (const v of shown) if (v !== null && v > hi) hi = v;
  const top = SPARK_BLOCKS.length - 1;
  let line = ' '.repeat(width - shown.length);
  for (const v of shown) {
    if (v === null || !Number.isFinite(v)) line += ' ';
    else if (v <= lo || hi <= lo) line += SPARK_BLOCKS[0];
    else line += SPARK_BLOCKS[Math.min(top, Math.max(1, Math.round(((v - lo) / (hi - lo)) * top)))];
  }
  return line;
}
