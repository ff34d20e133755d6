/** Servers starting at once: never more than the limit, first come first served, a changed limit applies to the next start. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStartSlots } from '../../../daemon/serving/servers/start-slots.js';

describe('start slots', () => {
  it('lets `limit` servers start at once and the next ones in the order they asked', async () => {
    const slots = createStartSlots(() => 2);
    const order: number[] = [];
    const releases = await Promise.all([slots.acquire(), slots.acquire()]);
    const later = [3, 4, 5].map((n) => slots.acquire().then((release) => (order.push(n), release)));
    await Promise.resolve();
    assert.deepEqual([slots.starting, slots.waiting], [2, 3]);
    releases[0]!();
    releases[0]!(); // giving a slot back twice gives it back once
    const r3 = await later[0]!;
    assert.deepEqual([slots.starting, slots.waiting, order], [2, 2, [3]]);
    releases[1]!();
    r3();
    const [r4, r5] = [await later[1]!, await later[2]!];
    assert.deepEqual(order, [3, 4, 5]);
    r4();
    r5();
    assert.deepEqual([slots.starting, slots.waiting], [0, 0]);
  });

  it('applies a lower limit as slots come back', async () => {
    let limit = 3;
    const slots = createStartSlots(() => limit);
    const held = await Promise.all([slots.acquire(), slots.acquire(), slots.acquire()]);
    let got = false;
    void slots.acquire().then(() => (got = true));
    limit = 1;
    held[0]!();
    held[1]!();
    await new Promise((r) => setImmediate(r));
    assert.equal(got, false, 'still 1 starting: at the new limit');
    held[2]!();
    await new Promise((r) => setImmediate(r));
    assert.equal(got, true);
  });
});
