/** The route table: one pipeline's routes change without touching the others', and a group with no live model says why. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRouteTable, type RoutePipeline } from '../../../daemon/serving/router/routes.js';

const pipeline = (name: string): RoutePipeline => ({ name, groups: ['a', 'b'], timeoutMs: 1000, captureSamplingPercent: 0 });
const live = (p: string, group: string, port: number) => ({
  pipeline: p,
  group,
  name: 'v1',
  role: 'current' as const,
  weight: 100,
  host: '127.0.0.1',
  port,
});

describe('route table', () => {
  it('rebuilds one pipeline and keeps the others as they were', () => {
    const table = createRouteTable();
    table.replace([pipeline('p1'), pipeline('p2')], [live('p1', 'a', 1), live('p2', 'a', 2)]);
    const before = table.lookup('p2', 'a');
    const generation = table.generation;
    table.setPipeline(pipeline('p1'), [live('p1', 'a', 1), live('p1', 'b', 3)]);
    assert.ok(table.generation > generation);
    const after = table.lookup('p2', 'a');
    assert.ok(before.kind === 'route' && after.kind === 'route' && after.route === before.route, "p2's route is the same object");
    const b = table.lookup('p1', 'b');
    assert.equal(b.kind === 'route' && b.route.variants[0]!.port, 3);
    table.setPipeline(pipeline('p3'), []);
    assert.deepEqual(table.lookup('nope', 'a'), { kind: 'unknown_pipeline', known: ['p1', 'p2', 'p3'] });
    table.removePipeline('p1');
    assert.deepEqual(table.lookup('nope', 'a'), { kind: 'unknown_pipeline', known: ['p2', 'p3'] });
  });

  it('says why a group has no live model when a version should serve', () => {
    const table = createRouteTable();
    table.setPipeline(
      pipeline('p1'),
      [live('p1', 'a', 1)],
      [
        { pipeline: 'p1', group: 'a', reason: 'the candidate v2 is starting' },
        { pipeline: 'p1', group: 'b', reason: 'v1 is starting' },
      ],
    );
    const a = table.lookup('p1', 'a');
    const b = table.lookup('p1', 'b');
    assert.equal(a.kind === 'route' && a.route.down, undefined, 'a group with a live variant is not down');
    assert.equal(b.kind === 'route' && b.route.down, 'v1 is starting');
  });
});

describe('route table copies (router workers)', () => {
  it('a copy starts from the whole table, follows every change, and inForce waits for every copy', async () => {
    const table = createRouteTable();
    table.replace(
      [pipeline('p1'), pipeline('p2')],
      [live('p1', 'a', 1), live('p2', 'a', 2)],
      [{ pipeline: 'p2', group: 'b', reason: 'v1 is starting' }],
    );
    const copy = createRouteTable();
    const acks: (() => void)[] = [];
    table.replicate({
      apply(change) {
        copy.apply(change);
        return new Promise<void>((resolve) => acks.push(resolve));
      },
    });
    table.setPipeline(pipeline('p1'), [
      { ...live('p1', 'a', 1), weight: 40 },
      { ...live('p1', 'a', 5), name: 'v2', role: 'candidate', weight: 60 },
    ]);
    table.removePipeline('p2');
    for (const [name, group] of [
      ['p1', 'a'],
      ['p1', 'b'],
      ['p2', 'a'],
      ['p2', 'b'],
    ] as const) {
      assert.deepEqual(copy.lookup(name, group), table.lookup(name, group), `${name}/${group}`);
    }
    let settled = false;
    const inForce = table.inForce().then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'not in force before the copy acknowledged');
    for (const ack of acks.splice(0)) ack();
    await inForce;
    assert.equal(settled, true);
  });
});
