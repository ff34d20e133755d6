/** Small text helpers the views share. */
import { formatDuration } from '../../../shared/duration.js';
import type { RolloutPhase } from '../../../shared/protocol.js';

/** Ink colour per phase: red needs a person now, yellow is waiting on one, cyan is moving, green is done. */
export const PHASE_COLOUR: Record<RolloutPhase | 'idle', string> = {
  deploying: 'cyan',
  checking_data: 'cyan',
  integration_testing: 'cyan',
  replaying: 'cyan',
  shifting: 'blue',
  paused: 'yellow',
  promoted: 'green',
  blocked: 'red',
  rolling_back: 'magenta',
  rolled_back: 'gray',
  failed: 'red',
  idle: 'gray',
};

export const pct = (n: number) => `${Math.round(n)}%`;
export const rate = (r: number) => `${(r * 100).toFixed(r < 0.1 ? 1 : 0)}%`;

export function ago(at: number | null, now: number): string {
  if (at === null) return '-';
  return `${formatDuration(Math.max(0, now - at))} ago`;
}

/** HH:MM:SS in UTC, like the rest of mlp's times. */
export const clock = (at: number) => new Date(at).toISOString().slice(11, 19);

/** One line, at most `width` characters (an ellipsis shows the cut). */
export function fit(text: string, width: number): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  if (width <= 0) return '';
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

/** A decision's figure: numbers rounded, rates as given, objects as short JSON. */
export function figure(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(3));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
