import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { binLatencyMs, LATENCY_BIN_RELATIVE_ERROR, LATENCY_BINS, latencyBin } from '../../../daemon/serving/metrics/latency-bins.js';
import { createLiveMetrics } from '../../../daemon/serving/metrics/live-metrics.js';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

function clock(start = T0) {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v), advance: (ms: number) => (t += ms) };
}

/** Nearest-rank quantile of a list (the definition docs/serving.md gives). */
function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe('live metrics', () => {
  test('counts requests and errors (status >= 500) per pipeline, group and variant', () => {
    const c = clock();
    const m = createLiveMetrics({ clock: c });
    const statuses = [200, 200, 200, 200, 200, 200, 200, 500, 503, 404];
    for (const s of statuses) m.observe('demand-forecast', 'london', 'v3', s, 2, c.now());
    m.observe('demand-forecast', 'london', 'v4', 200, 2, c.now());
    m.observe('demand-forecast', 'paris', 'v3', 502, 2, c.now());

    const v3 = m.variant('demand-forecast', 'london', 'v3')!;
    assert.deepEqual(v3.total, { requests: 10, errors: 2 });
    assert.equal(v3.window.requests, 10);
    assert.equal(v3.window.errors, 2);
    assert.equal(v3.window.errorRate, 0.2);
    assert.equal(v3.recent.requests, 10);
    assert.equal(v3.recent.errorRate, 0.2);
    assert.equal(m.variant('demand-forecast', 'paris', 'v3')!.window.errorRate, 1);
    assert.equal(m.variant('demand-forecast', 'london', 'v4')!.window.errorRate, 0);
    assert.equal(m.variant('demand-forecast', 'london', 'v9'), undefined);
    assert.deepEqual(
      m
        .snapshot()
        .map((v) => `${v.pipeline}/${v.group}/${v.variant}`)
        .sort(),
      ['demand-forecast/london/v3', 'demand-forecast/london/v4', 'demand-forecast/paris/v3'],
    );
  });

  test('a snapshot of the variants that served since a moment leaves the idle ones out', () => {
    const c = clock();
    const m = createLiveMetrics({ clock: c });
    m.observe('p', 'london', 'v1', 200, 2, c.now());
    c.advance(1_000);
    const since = c.now();
    m.observe('p', 'paris', 'v1', 200, 3, c.now());
    assert.deepEqual(
      m.snapshot(since).map((v) => `${v.group}/${v.variant} ${v.total.requests}`),
      ['paris/v1 1'],
    );
    assert.equal(m.snapshot().length, 2);
  });

  test('quantiles: exact over the count window, within the bins’ error over the time window', () => {
    const c = clock();
    const m = createLiveMetrics({ clock: c, windowCount: 1000 });
    const rnd = random(42);
    const all: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const latency = Math.round(0.05 * Math.pow(10, 5 * rnd()) * 1000) / 1000; // 0.05 ms .. 5 s, log-uniform
      all.push(latency);
      m.observe('p', 'g', 'v1', 200, latency, T0 + i);
    }
    c.set(T0 + 6000);
    const v = m.variant('p', 'g', 'v1')!;
    const last1000 = all.slice(-1000);
    assert.equal(v.recent.p50Ms, nearestRank(last1000, 0.5));
    assert.equal(v.recent.p95Ms, nearestRank(last1000, 0.95));
    assert.equal(v.recent.p99Ms, nearestRank(last1000, 0.99));
    assert.equal(v.recent.maxMs, Math.max(...last1000));
    assert.equal(v.window.requests, 5000);
    for (const [p, got] of [
      [0.5, v.window.p50Ms],
      [0.95, v.window.p95Ms],
      [0.99, v.window.p99Ms],
    ] as const) {
      const want = nearestRank(all, p);
      assert.ok(Math.abs(got! - want) <= want * LATENCY_BIN_RELATIVE_ERROR + 0.001, `p${p * 100}: ${got} vs ${want}`);
    }
    assert.equal(v.window.maxMs, Math.max(...all));
    assert.ok(Math.abs(v.window.meanMs! - all.reduce((a, b) => a + b) / all.length) < 1e-6);
  });

  test('every latency is within the documented error of the middle of its bin', () => {
    for (let us = 0; us < 2 ** 27; us = us < 4096 ? us + 1 : Math.ceil(us * 1.0007)) {
      const ms = us / 1000;
      const bin = latencyBin(ms);
      assert.ok(bin >= 0 && bin < LATENCY_BINS);
      assert.ok(
        Math.abs(binLatencyMs(bin) - ms) <= ms * LATENCY_BIN_RELATIVE_ERROR + 1e-9,
        `${us} µs in bin ${bin} (${binLatencyMs(bin)} ms)`,
      );
    }
    assert.equal(latencyBin(-3), 0);
    assert.equal(latencyBin(1e9), LATENCY_BINS - 1);
  });

  test('requests slide out of the time window with the clock; totals stay', () => {
    const c = clock();
    const m = createLiveMetrics({ clock: c, windowMs: 60_000 });
    for (let i = 0; i < 100; i++) m.observe('p', 'g', 'v1', i % 2 ? 500 : 200, 100, c.now());
    c.advance(30_000);
    for (let i = 0; i < 100; i++) m.observe('p', 'g', 'v1', 200, 10, c.now());

    let v = m.variant('p', 'g', 'v1')!;
    assert.equal(v.window.requests, 200);
    assert.equal(v.window.errors, 50);
    assert.equal(v.window.errorRate, 0.25);
    assert.equal(v.window.p99Ms, Math.min(binLatencyMs(latencyBin(100)), 100)); // never above the max seen

    c.advance(31_000); // the first hundred completed 61 s ago
    v = m.variant('p', 'g', 'v1')!;
    assert.equal(v.window.requests, 100);
    assert.equal(v.window.errors, 0);
    assert.equal(v.window.errorRate, 0);
    assert.equal(v.window.p99Ms, binLatencyMs(latencyBin(10)));
    assert.equal(v.window.maxMs, 10);

    c.advance(60_000);
    v = m.variant('p', 'g', 'v1')!;
    assert.equal(v.window.requests, 0);
    assert.equal(v.window.errorRate, 0);
    assert.equal(v.window.p50Ms, null);
    assert.equal(v.window.meanMs, null);
    assert.equal(v.window.requestsPerSecond, 0);
    assert.deepEqual(v.total, { requests: 200, errors: 50 });
    assert.equal(v.recent.requests, 200); // the count window does not age

    // Traffic after a quiet spell starts a fresh window.
    m.observe('p', 'g', 'v1', 503, 5, c.now());
    v = m.variant('p', 'g', 'v1')!;
    assert.equal(v.window.requests, 1);
    assert.equal(v.window.errorRate, 1);
    assert.equal(v.window.p50Ms, binLatencyMs(latencyBin(5)));
  });

  test('a request counts when it completed: a slow one lands in the window it finished in', () => {
    const c = clock();
    const m = createLiveMetrics({ clock: c, windowMs: 10_000 });
    m.observe('p', 'g', 'v1', 504, 30_000, c.now() - 30_000); // arrived 30 s ago, timed out just now
    m.observe('p', 'g', 'v1', 200, 5, c.now() - 20_000); // completed 20 s ago: outside a 10 s window
    const v = m.variant('p', 'g', 'v1')!;
    assert.equal(v.window.requests, 1);
    assert.equal(v.window.errors, 1);
    assert.equal(v.total.requests, 2);
  });

  test('requests per second over the window, and over the span of the count window', () => {
    const c = clock();
    const m = createLiveMetrics({ clock: c, windowMs: 60_000, windowCount: 50 });
    for (let i = 0; i < 240; i++) m.observe('p', 'g', 'v1', 200, 1, T0 + i * 500); // 2/s for 120 s
    c.set(T0 + 120_000);
    const v = m.variant('p', 'g', 'v1')!;
    assert.ok(Math.abs(v.window.requestsPerSecond - 2) < 0.1, String(v.window.requestsPerSecond));
    assert.ok(Math.abs(v.recent.requestsPerSecond - 2) < 0.1, String(v.recent.requestsPerSecond));
    // A variant younger than the window is not diluted by the seconds before its first request.
    c.set(T0 + 200_000);
    for (let i = 0; i < 20; i++) m.observe('p', 'g', 'young', 200, 1, T0 + 190_000 + i * 500);
    assert.ok(Math.abs(m.variant('p', 'g', 'young')!.window.requestsPerSecond - 2) < 0.1);
  });

  test('the count window holds the last N requests', () => {
    const c = clock();
    const m = createLiveMetrics({ clock: c, windowCount: 10 });
    for (let i = 0; i < 5; i++) m.observe('p', 'g', 'v1', 500, 1000, c.now());
    for (let i = 1; i <= 10; i++) m.observe('p', 'g', 'v1', 200, i, c.now());
    const v = m.variant('p', 'g', 'v1')!;
    assert.equal(v.recent.windowCount, 10);
    assert.equal(v.recent.requests, 10);
    assert.equal(v.recent.errors, 0);
    assert.equal(v.recent.p50Ms, 5);
    assert.equal(v.recent.p99Ms, 10);
    assert.equal(v.recent.maxMs, 10);
    assert.equal(v.recent.meanMs, 5.5);
    assert.equal(v.window.errors, 5);
    m.observe('p', 'g', 'v1', 500, 20, c.now());
    const after = m.variant('p', 'g', 'v1')!;
    assert.equal(after.recent.errors, 1);
    assert.equal(after.recent.p99Ms, 20);
    assert.equal(after.recent.p50Ms, 6);
  });

  test('forget drops a variant, a group or a pipeline', () => {
    const m = createLiveMetrics({ clock: { now: () => T0 } });
    for (const [g, v] of [
      ['a', 'v1'],
      ['a', 'v2'],
      ['b', 'v1'],
    ])
      m.observe('p', g!, v!, 200, 1, T0);
    m.observe('q', 'a', 'v1', 200, 1, T0);
    m.forget('p', 'a', 'v1');
    assert.equal(m.variant('p', 'a', 'v1'), undefined);
    assert.ok(m.variant('p', 'a', 'v2'));
    m.forget('p', 'a');
    assert.equal(m.variant('p', 'a', 'v2'), undefined);
    assert.ok(m.variant('p', 'b', 'v1'));
    m.forget('p');
    assert.deepEqual(
      m.snapshot().map((v) => v.pipeline),
      ['q'],
    );
    m.observe('p', 'a', 'v1', 200, 1, T0); // starts from zero again
    assert.deepEqual(m.variant('p', 'a', 'v1')!.total, { requests: 1, errors: 0 });
  });

  describe('pooled', () => {
    /** What pooling must give, worked out from the raw latencies: the nearest-rank value's bin middle, capped at the max. */
    const binnedRank = (values: number[], p: number) => Math.min(binLatencyMs(latencyBin(nearestRank(values, p))), Math.max(...values));

    test("a pipeline's variants together: counts and quantiles of the union of their requests", () => {
      const c = clock();
      const m = createLiveMetrics({ clock: c });
      const rnd = random(7);
      const fast: number[] = [];
      const slow: number[] = [];
      for (let i = 0; i < 900; i++) {
        const l = Math.round((1 + 9 * rnd()) * 1000) / 1000; // 1-10 ms
        fast.push(l);
        m.observe('shop', 'london', 'v1', i % 100 === 0 ? 500 : 200, l, T0 + i);
      }
      for (let i = 0; i < 100; i++) {
        const l = Math.round((200 + 800 * rnd()) * 1000) / 1000; // 200-1000 ms: the union's p99 is here, neither p50
        slow.push(l);
        m.observe('shop', 'paris', 'v2', 503, l, T0 + i);
      }
      m.observe('other', 'london', 'v1', 200, 5000, T0);
      c.set(T0 + 2000);

      const all = [...fast, ...slow];
      const pooled = m.pooled('shop');
      assert.equal(pooled.requests, 1000);
      assert.equal(pooled.errors, 9 + 100);
      assert.equal(pooled.errorRate, 0.109);
      assert.equal(pooled.p50Ms, binnedRank(all, 0.5));
      assert.equal(pooled.p99Ms, binnedRank(all, 0.99));
      assert.ok(pooled.p99Ms! >= 200, `the slow variant's tail shows in the pooled p99: ${pooled.p99Ms}`);
      assert.equal(pooled.maxMs, Math.max(...slow));

      const londonOnly = m.pooled('shop', { include: (group) => group === 'london' });
      assert.equal(londonOnly.requests, 900);
      assert.equal(londonOnly.p99Ms, binnedRank(fast, 0.99));
      assert.equal(londonOnly.p99Ms, m.variant('shop', 'london', 'v1')!.window.p99Ms, 'one variant pooled is that variant');
    });

    test('nothing to pool: no requests and no quantiles', () => {
      const c = clock();
      const m = createLiveMetrics({ clock: c });
      assert.deepEqual(m.pooled('nope'), { requests: 0, errors: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null, maxMs: null });
      m.observe('shop', 'london', 'v1', 200, 3, c.now());
      c.advance(61_000);
      assert.equal(m.pooled('shop').requests, 0, 'out of the window');
      assert.equal(m.pooled('shop').p50Ms, null);
    });

    test('over a range: back-to-back ranges count each request once, a bucket still filling waits for the next', () => {
      const c = clock();
      const m = createLiveMetrics({ clock: c });
      const at80 = binLatencyMs(latencyBin(80));
      // 10 requests in each of five seconds, 20 ms in the first three seconds and 80 ms after.
      for (let sec = 0; sec < 5; sec++) {
        for (let i = 0; i < 10; i++) m.observe('shop', 'g', sec % 2 ? 'v1' : 'v2', 200, sec < 3 ? 20 : 80, T0 + sec * 1000 + i * 50);
      }
      c.set(T0 + 4500); // the fifth second is still filling
      const first = m.pooled('shop', { range: { from: T0 - 10_000, to: c.now() } });
      assert.equal(first.requests, 40);
      assert.equal(first.p50Ms, binLatencyMs(latencyBin(20)));
      assert.equal(first.p99Ms, at80);
      c.set(T0 + 9000);
      const second = m.pooled('shop', { range: { from: T0 + 4500, to: c.now() } });
      assert.equal(second.requests, 10, 'the fifth second, once, in the range after it closed');
      assert.equal(second.p50Ms, at80);
      assert.equal(second.p99Ms, at80);
      assert.equal(m.pooled('shop', { range: { from: T0 + 9000, to: T0 + 14_000 } }).requests, 0, 'no traffic, nothing counted');
      assert.equal(
        m.pooled('shop', { range: { from: T0, to: T0 + 3000 }, include: (_g, v) => v === 'v1' }).requests,
        10,
        'of v1, only its second second is in range',
      );
    });
  });
});
