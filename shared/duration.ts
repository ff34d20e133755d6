/** Durations as people write them on a command line: `500ms`, `60s`, `10m`, `2h`, `1d` (a bare number is seconds). */
import { usageError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in `text`, or a usage error naming the option and what is accepted. */
export function parseDuration(text: string, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw usageError(`${option}: '${text}' is not a duration (examples: 500ms, 60s, 10m, 2h, 1d)`);
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  if (!(ms > 0)) throw usageError(`${option}: the duration must be above zero, got '${text}'`);
  return Math.round(ms);
}

/** `90000` -> `1m30s`: the shortest exact spelling, for logs and status. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.join('');
}
