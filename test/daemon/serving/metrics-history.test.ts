/** The traffic history: real live metrics and event bus, a fake clock and a timer the test fires. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DaemonEvent } from '../../../shared/protocol.js';
import { createEventBus } from '../../../daemon/events.js';
import { binLatencyMs, latencyBin } from '../../../daemon/serving/metrics/latency-bins.js';
import { createLiveMetrics } from '../../../daemon/serving/metrics/live-metrics.js';
import { startMetricsHistory } from '../../../daemon/serving/metrics/history.js';
import type { VariantRole as Role } from '../../../daemon/store/variants.js';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
/** A quantile where every latency was `ms`: the middle of its bin, never above the largest seen. */
const bin = (ms: number) => Math.min(binLatencyMs(latencyBin(ms)), ms);

function setup(variants: Record<string, { group: string; variant: string; role: Role }[]> = {}) {
  let t = T0;
  const metrics = createLiveMetrics({ clock: { now: () => t } });
  const bus = createEventBus();
  const events: Extract<DaemonEvent, { kind: 'history' }>[] = [];
  bus.subscribe((e) => e.kind === 'history' && events.push(e));
  const timer: { ms?: number; tick?: () => void; cancelled: boolean } = { cancelled: false };
  const history = startMetricsHistory({
    metrics,
    bus,
    pipelines: () => Object.keys(variants),
    variants: (p) => variants[p] ?? [],
    clock: { now: () => t },
    every: (ms, tick) => {
      Object.assign(timer, { ms, tick });
      return () => (timer.cancelled = true);
    },
  });
  /** `n` requests of a variant, spread over the second that starts `offsetMs` after the clock. */
  const traffic = (
    pipeline: string,
    group: string,
    variant: string,
    n: number,
    latencyMs: number,
    opts: { errors?: number; offsetMs?: number } = {},
  ) => {
    for (let i = 0; i < n; i++)
      metrics.observe(pipeline, group, variant, i < (opts.errors ?? 0) ? 500 : 200, latencyMs, t + (opts.offsetMs ?? 100) + i);
  };
  /** The clock moves (one interval) and the timer fires. */
  const tick = (ms = 5000) => {
    t += ms;
    timer.tick!();
  };
  return { history, events, timer, traffic, tick, now: () => t };
}

const shop = [
  { group: 'london', variant: 'v1', role: 'current' as const },
  { group: 'paris', variant: 'v1', role: 'current' as const },
  { group: 'london', variant: 'v2', role: 'candidate' as const },
];

describe('traffic history', () => {
  test("one point per interval with each role's requests, all groups pooled, and an event carrying it", () => {
    const h = setup({ shop });
    h.traffic('shop', 'london', 'v1', 20, 10);
    h.traffic('shop', 'paris', 'v1', 10, 10, { offsetMs: 2000 });
    h.traffic('shop', 'london', 'v2', 10, 300, { errors: 2 });
    h.tick();

    assert.equal(h.timer.ms, 5000, 'every 5 s by default');
    const points = h.history.points('shop');
    assert.deepEqual(points, [
      {
        at: T0 + 5000,
        current: { requests: 30, errors: 0, p50Ms: bin(10), p99Ms: bin(10) },
        candidate: { requests: 10, errors: 2, p50Ms: bin(300), p99Ms: bin(300) },
      },
    ]);
    assert.equal(h.events.length, 1);
    const [e] = h.events;
    assert.equal(e!.intervalMs, 5000);
    assert.equal(e!.at, T0 + 5000);
    assert.deepEqual(
      e!.pipelines.map((p) => p.pipeline),
      ['shop'],
    );
    assert.deepEqual(e!.pipelines[0]!.point, points[0]);
    assert.deepEqual(e!.pipelines[0]!.latency, {
      requests: 40,
      errors: 2,
      errorRate: 0.05,
      p50Ms: bin(10),
      p99Ms: bin(300),
      windowMs: 60_000,
    });
  });

  test('counts each interval on its own: requests of an earlier interval are not counted again', () => {
    const h = setup({ shop });
    h.traffic('shop', 'london', 'v1', 50, 10);
    h.tick();
    h.traffic('shop', 'london', 'v1', 7, 40, { errors: 1 });
    h.tick();
    const [first, second] = h.history.points('shop');
    assert.equal(first!.current!.requests, 50);
    assert.deepEqual(second!.current, { requests: 7, errors: 1, p50Ms: bin(40), p99Ms: bin(40) });
    assert.equal(second!.candidate, null, 'the candidate served nothing');
    assert.equal(h.events.at(-1)!.pipelines[0]!.latency!.requests, 57, 'the latency is over the last minute');
  });

  test('no traffic, no point and no event; only the pipelines that served requests are in an event', () => {
    const h = setup({ shop, idle: [{ group: 'default', variant: 'v3', role: 'current' }] });
    h.tick();
    assert.equal(h.events.length, 0);
    h.traffic('shop', 'paris', 'v1', 3, 5);
    h.tick();
    h.tick();
    assert.equal(h.events.length, 1);
    assert.deepEqual(
      h.events[0]!.pipelines.map((p) => p.pipeline),
      ['shop'],
    );
    assert.deepEqual(h.history.points('idle'), []);
    assert.deepEqual(
      h.history.points('shop').map((p) => p.at),
      [T0 + 10_000],
      'the quiet interval after it is a gap, not a zero',
    );
  });

  test('a request still in the second being filled counts in the next point', () => {
    const h = setup({ shop });
    h.traffic('shop', 'london', 'v1', 4, 10, { offsetMs: 5100 }); // completes in the second the sample falls in
    h.tick(5400);
    assert.equal(h.events.length, 0);
    h.tick();
    assert.deepEqual(
      h.history.points('shop').map((p) => [p.at, p.current!.requests]),
      [[T0 + 10_400, 4]],
    );
  });

  test('keeps the last 60 points, oldest first; forgets a removed pipeline', () => {
    const h = setup({ shop });
    for (let i = 0; i < 65; i++) {
      h.traffic('shop', 'london', 'v2', i + 1, 10);
      h.tick();
    }
    const points = h.history.points('shop');
    assert.equal(points.length, 60);
    assert.equal(points[0]!.candidate!.requests, 6, 'the first five dropped out');
    assert.equal(points.at(-1)!.candidate!.requests, 65);
    assert.ok(points.every((p, i) => i === 0 || p.at - points[i - 1]!.at === 5000));
    h.history.forget('shop');
    assert.deepEqual(h.history.points('shop'), []);
    h.history.close();
    assert.equal(h.timer.cancelled, true);
  });
});
