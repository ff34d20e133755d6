/** Router workers' metrics: every observation reaches the daemon's LiveMetrics, batched, named once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLiveMetrics } from '../../../daemon/serving/metrics/live-metrics.js';
import { createMetricsMerge, createMetricsRelay, type MetricsBatch } from '../../../daemon/serving/metrics/relay.js';

describe('metrics relay', () => {
  it('counts in the daemon exactly what two workers observed, within one batch interval', async () => {
    const metrics = createLiveMetrics();
    const batches: MetricsBatch[] = [];
    // Two workers, each with its own ids for the same variants, merged into one LiveMetrics.
    const workers = [0, 1].map(() => {
      const merge = createMetricsMerge(metrics);
      return createMetricsRelay((batch) => {
        batches.push(structuredClone(batch));
        merge(structuredClone(batch));
      }, 5);
    });
    const now = Date.now();
    for (let i = 0; i < 10_000; i++)
      workers[i % 2]!.observe('shop', 'default', Math.floor(i / 2) % 10 === 0 ? 'v2' : 'v1', i % 100 === 0 ? 500 : 200, 1 + (i % 7), now);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(metrics.variant('shop', 'default', 'v1')?.total.requests, 9_000);
    assert.deepEqual(metrics.variant('shop', 'default', 'v2')?.total, { requests: 1_000, errors: 100 });
    assert.ok(batches.length >= 4, 'a full batch goes out before its interval');
    assert.equal(batches.flatMap((b) => b.names).length, 4, 'each worker names each variant once');
  });
});
