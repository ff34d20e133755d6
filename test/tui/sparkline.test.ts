import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sparkline } from '../../tui/components/common/sparkline.js';

test('sparkline: scaled from 0 to the largest value, one block per value', () => {
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([0, 7, 14], 3), '▁▅█');
  assert.equal(sparkline([5, 5, 5], 3), '███', 'a flat series sits at its own top when zero is the floor');
});

test('sparkline: a given max is the top (values above it clip to █); a given min is the floor', () => {
  assert.equal(sparkline([0, 0.05, 0.1, 0.2], 4, { max: 0.1 }), '▁▅██');
  assert.equal(sparkline([10, 12, 17], 3, { min: 10, max: 17 }), '▁▃█');
  assert.equal(sparkline([3, 9], 2, { min: 10 }), '▁▁', 'values at or under the floor are the lowest block');
});

test('sparkline: any value above the floor shows at least ▂, so a few errors never look like none', () => {
  assert.equal(sparkline([0, 0.001, 1], 3), '▁▂█');
});

test('sparkline: nulls are gaps; all zeros or all gaps still draw', () => {
  assert.equal(sparkline([1, null, 2, null], 4), '▅ █ ');
  assert.equal(sparkline([0, 0], 2), '▁▁');
  assert.equal(sparkline([null, null], 2), '  ');
  assert.equal(sparkline([1, Number.NaN], 2), '█ ');
});

test('sparkline: always `width` characters: the last points when there are more, gaps on the left when fewer', () => {
  const points = Array.from({ length: 60 }, (_, i) => i);
  const line = sparkline(points, 10);
  assert.equal([...line].length, 10);
  assert.equal(sparkline([0, 7, 0, 7], 2), '▁█', 'the newest two, scaled by what is shown');
  assert.equal(sparkline([100, 0, 1, 2, 3, 4, 5, 6, 7], 8), '▁▂▃▄▅▆▇█', 'a spike that scrolled out no longer flattens the rest');
  assert.equal(sparkline([7], 4), '   █');
  assert.equal(sparkline([], 3), '   ');
  assert.equal(sparkline([1, 2], 0), '');
});
