import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryPoint } from '../../shared/protocol.js';
import { onTimeAxis } from '../../tui/components/pipeline/time-axis.js';

const at = (s: number): HistoryPoint => ({ at: s * 1000, current: null, candidate: null });
const seconds = (slots: Array<HistoryPoint | null>) => slots.map((x) => (x ? x.at / 1000 : null));

test('points sit in their interval, newest last; intervals without a point are empty', () => {
  assert.deepEqual(seconds(onTimeAxis([at(100), at(120), at(125)], 5_000, 6, 125_000)), [100, null, null, null, 120, 125]);
});

test("the sampler's jitter does not move a point into its neighbour's slot", () => {
  assert.deepEqual(seconds(onTimeAxis([at(95.002), at(99.998), at(105.001)], 5_000, 3, 105_001)), [95.002, 99.998, 105.001]);
});

test('only the last `count` intervals show', () => {
  assert.deepEqual(seconds(onTimeAxis([at(0), at(5), at(10), at(15)], 5_000, 2, 15_000)), [10, 15]);
});

test('when the clock moves on without a new point, the points slide left after one interval of grace', () => {
  const points = [at(10), at(15)];
  assert.deepEqual(seconds(onTimeAxis(points, 5_000, 4, 19_000)), [null, null, 10, 15]);
  assert.deepEqual(seconds(onTimeAxis(points, 5_000, 4, 24_000)), [null, null, 10, 15], 'the next sample may still be on its way');
  assert.deepEqual(seconds(onTimeAxis(points, 5_000, 4, 25_000)), [null, 10, 15, null]);
  assert.deepEqual(seconds(onTimeAxis(points, 5_000, 4, 60_000)), [null, null, null, null]);
});

test('no points, no slots', () => {
  assert.deepEqual(onTimeAxis([], 5_000, 3, 0), [null, null, null]);
  assert.deepEqual(onTimeAxis([at(1)], 5_000, 0, 0), []);
});
