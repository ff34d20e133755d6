/**
 * Live metrics for clients: the API views of a variant's metrics and of a pipeline's pooled
 * latency, and a ticker that publishes the variants that served requests since the last tick, a few
 * times a second while traffic flows (and nothing while it does not).
 */
import type { LatencyView, VariantMetricsSet } from '../../../shared/protocol.js';
import type { EventBus } from '../../events.js';
import type { LiveMetrics, VariantMetrics, WindowMetrics } from './live-metrics.js';
import { systemClock, type WallClock } from '../../scheduler/clock.js';

const TICK_MS = 250;

const windowView = (w: WindowMetrics) => ({
  requests: w.requests,
  errors: w.errors,
  errorRate: w.errorRate,
  requestsPerSecond: w.requestsPerSecond,
  p50Ms: w.p50Ms,
  p95Ms: w.p95Ms,
  p99Ms: w.p99Ms,
});

export function metricsView(m: VariantMetrics | undefined): VariantMetricsSet | null {
  return m ? { total: m.total, window: windowView(m.window), recent: windowView(m.recent) } : null;
}

/** A pipeline's `performance.latency`: every group and variant pooled over the time window; null without requests in it. */
export function pipelineLatency(metrics: LiveMetrics, pipeline: string): LatencyView | null {
  const m = metrics.pooled(pipeline);
  if (m.requests === 0) return null;
  return { requests: m.requests, errors: m.errors, errorRate: m.errorRate, p50Ms: m.p50Ms, p99Ms: m.p99Ms, windowMs: metrics.windowMs };
}

export function startMetricsTicker(opts: { metrics: LiveMetrics; bus: EventBus; tickMs?: number; clock?: WallClock }): () => void {
  const clock = opts.clock ?? systemClock;
  let lastTick = clock.now();
  const timer = setInterval(() => {
    const since = lastTick;
    lastTick = clock.now();
    const moved = opts.metrics.snapshot(since);
    if (moved.length === 0) return;
    opts.bus.publish({
      kind: 'metrics',
      at: lastTick,
      variants: moved.map((m) => ({ pipeline: m.pipeline, group: m.group, variant: m.variant, metrics: metricsView(m)! })),
    });
  }, opts.tickMs ?? TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
