/**
 * The traffic history behind the TUI's sparklines (docs/api.md, "Performance and cost"): every
 * interval, each pipeline's requests of that interval only, all groups pooled per role (current,
 * candidate), become one point; the last points per pipeline are kept in memory and each new batch
 * is published as a `history` event.
 *
 * The interval is real time, not divided by --time-scale: it paces what people watch, not the
 * rollout. The history lives in memory only, so a restarted daemon starts it afresh. A pipeline that
 * served nothing in an interval gets no point: the gap is what a reader should see.
 */
import type { HistoryPoint } from '../../../shared/protocol.js';
import type { EventBus } from '../../events.js';
import type { VariantRole } from '../../store/variants.js';
import type { LiveMetrics } from './live-metrics.js';
import { pipelineLatency } from './events.js';
import { systemClock, type WallClock } from '../../scheduler/clock.js';

export const HISTORY_INTERVAL_MS = 5000;
/** Five minutes at the default interval. */
export const HISTORY_POINTS = 60;

export interface MetricsHistory {
  readonly intervalMs: number;
  /** A pipeline's points, oldest first. */
  points(pipeline: string): HistoryPoint[];
  /** Drops a removed pipeline's history. */
  forget(pipeline: string): void;
  /** Takes the sample the timer would take now. */
  sample(): void;
  close(): void;
}

export interface MetricsHistoryOptions {
  metrics: LiveMetrics;
  bus: Pick<EventBus, 'publish'>;
  /** The pipelines in force. */
  pipelines(): string[];
  /** The variants that serve a pipeline now, with their role (a variant's role at sampling time counts). */
  variants(pipeline: string): { group: string; variant: string; role: VariantRole }[];
  intervalMs?: number;
  maxPoints?: number;
  /** When samples are taken and stamped. Default: the system clock. */
  clock?: WallClock;
  /** Calls `tick` every `ms`; returns the canceller. Default: an unref'd setInterval. */
  every?: (ms: number, tick: () => void) => () => void;
}

type RoleSample = NonNullable<HistoryPoint['current']>;

function everyInterval(ms: number, tick: () => void): () => void {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
}

export function startMetricsHistory(opts: MetricsHistoryOptions): MetricsHistory {
  const { metrics, bus } = opts;
  const intervalMs = opts.intervalMs ?? HISTORY_INTERVAL_MS;
  const maxPoints = opts.maxPoints ?? HISTORY_POINTS;
  const clock = opts.clock ?? systemClock;
  const now = () => clock.now();
  const history = new Map<string, HistoryPoint[]>();
  // Each sample starts where the previous one ended, so no request counts twice or not at all.
  let sampledUntil = now();

  function roleSample(pipeline: string, keys: Set<string>, range: { from: number; to: number }): RoleSample | null {
    if (keys.size === 0) return null;
    const m = metrics.pooled(pipeline, { include: (group, variant) => keys.has(`${group}/${variant}`), range });
    return m.requests > 0 ? { requests: m.requests, errors: m.errors, p50Ms: m.p50Ms, p99Ms: m.p99Ms } : null;
  }

  function sample(): void {
    const at = now();
    const range = { from: sampledUntil, to: at };
    sampledUntil = at;
    const published: { pipeline: string; point: HistoryPoint; latency: ReturnType<typeof pipelineLatency> }[] = [];
    for (const pipeline of opts.pipelines()) {
      const keys: Record<VariantRole, Set<string>> = { current: new Set(), candidate: new Set() };
      for (const v of opts.variants(pipeline)) keys[v.role].add(`${v.group}/${v.variant}`);
      const current = roleSample(pipeline, keys.current, range);
      const candidate = roleSample(pipeline, keys.candidate, range);
      if (!current && !candidate) continue;
      const point: HistoryPoint = { at, current, candidate };
      const points = history.get(pipeline) ?? [];
      points.push(point);
      if (points.length > maxPoints) points.splice(0, points.length - maxPoints);
      history.set(pipeline, points);
      published.push({ pipeline, point, latency: pipelineLatency(metrics, pipeline) });
    }
    if (published.length > 0) bus.publish({ kind: 'history', at, intervalMs, pipelines: published });
  }

  const cancel = (opts.every ?? everyInterval)(intervalMs, sample);
  return {
    intervalMs,
    points: (pipeline) => [...(history.get(pipeline) ?? [])],
    forget: (pipeline) => void history.delete(pipeline),
    sample,
    close: cancel,
  };
}
