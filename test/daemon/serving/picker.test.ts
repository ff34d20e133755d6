import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupPicker } from '../../../daemon/serving/router/picker.js';
import type { GroupRoute, VariantTarget } from '../../../daemon/serving/types.js';

const variant = (name: string, weight: number, role: VariantTarget['role'] = 'current'): VariantTarget => ({
  name,
  role,
  weight,
  host: '127.0.0.1',
  port: 1,
});
const picker = (variants: VariantTarget[], captureSamplingPercent = 100) => {
  const route: GroupRoute = { pipeline: 'p', group: 'g', variants, timeoutMs: 1000, captureSamplingPercent };
  return new GroupPicker(
    route,
    variants.map((target) => ({ target })),
  );
};
const tally = (p: ReturnType<typeof picker>, n: number) => {
  const counts: Record<string, number> = {};
  const order: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = p.next()!.target.name;
    order.push(name);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return { counts, order };
};

describe('group picker (smooth weighted round-robin)', () => {
  it('splits exactly by weight', () => {
    assert.deepEqual(tally(picker([variant('a', 90), variant('b', 10)]), 1000).counts, { a: 900, b: 100 });
    assert.deepEqual(tally(picker([variant('a', 1), variant('b', 2), variant('c', 3)]), 600).counts, { a: 100, b: 200, c: 300 });
    assert.deepEqual(tally(picker([variant('a', 33.3), variant('b', 66.7)]), 1000).counts, { a: 333, b: 667 });
  });

  it('spreads the minority variant instead of sending it bursts', () => {
    const { order } = tally(picker([variant('a', 90), variant('b', 10)]), 100);
    for (let i = 0; i < 100; i += 10) assert.equal(order.slice(i, i + 10).filter((v) => v === 'b').length, 1);
  });

  it('gives a weight of 0 nothing, and returns null when no variant has weight', () => {
    assert.deepEqual(tally(picker([variant('a', 100), variant('b', 0)]), 50).counts, { a: 50 });
    assert.equal(picker([variant('a', 0)]).next(), null);
  });

  it('finds pinned variants by name or role', () => {
    const p = picker([variant('v3', 90, 'current'), variant('v4', 10, 'candidate')]);
    assert.equal(p.find('v4')!.target.name, 'v4');
    assert.equal(p.find('candidate')!.target.name, 'v4');
    assert.equal(p.find('current')!.target.name, 'v3');
    assert.equal(p.find('v9'), null);
  });

  it('samples exactly the capture percentage', () => {
    const count = (percent: number) => {
      const p = picker([variant('a', 1)], percent);
      let n = 0;
      for (let i = 0; i < 1000; i++) if (p.sample()) n++;
      return n;
    };
    assert.deepEqual([count(0), count(10), count(12.5), count(100)], [0, 100, 125, 1000]);
  });
});
