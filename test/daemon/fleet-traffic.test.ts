/** Which traffic events refresh a pipeline's fleet summary: a cost bound, not every tick of every pipeline. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summariesMovedBy } from '../../daemon/fleet-traffic.js';
import { latency, metrics, roleSample } from '../tui/fixtures.js';

const underWay = new Set(['forecast']);
const moved = (event: Parameters<typeof summariesMovedBy>[0]) => summariesMovedBy(event, (name) => underWay.has(name));

describe('fleet summaries moved by traffic', () => {
  it('a history point refreshes every pipeline in it', () => {
    const point = { at: 5_000, current: roleSample(100, 1), candidate: null };
    const event = {
      kind: 'history' as const,
      at: 5_000,
      intervalMs: 5_000,
      pipelines: ['forecast', 'churn'].map((pipeline) => ({ pipeline, point, latency: latency() })),
    };
    assert.deepEqual(moved(event), ['forecast', 'churn']);
  });

  it('a metrics tick refreshes only pipelines whose rollout is under way, each once', () => {
    const variant = (pipeline: string, group: string) => ({ pipeline, group, variant: 'v2', metrics: metrics(10, 0) });
    const event = {
      kind: 'metrics' as const,
      at: 1,
      variants: [variant('forecast', 'berlin'), variant('forecast', 'paris'), variant('churn', 'all')],
    };
    assert.deepEqual(moved(event), ['forecast']);
  });

  it('other events move no summary', () => {
    assert.deepEqual(moved({ kind: 'pipeline_removed', name: 'forecast' }), []);
  });
});
