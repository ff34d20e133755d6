/** The router's decisions in time follow the clock it is given, not the machine's. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRouter, type Router } from '../../../daemon/serving/router/router.js';
import { Observed, parseResponses, rawExchange, route, startModel, TestRouteTable, type ModelProcess } from './router-helpers.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const post = 'POST /endpoints/p/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';

describe('model-traffic router with an injected clock', () => {
  let model: ModelProcess;
  let router: Router;
  let observed: Observed;
  let t = T0;

  before(async () => {
    model = await startModel('m1');
    observed = new Observed();
    const table = new TestRouteTable([route('p', 'g', [model.target('m1', 'current', 100)], { captureSamplingPercent: 100 })]);
    router = await startRouter({
      host: '127.0.0.1',
      port: 0,
      table,
      capture: observed.capture,
      metrics: observed.sink,
      limits: { keepAliveTimeoutMs: 60_000 },
      clock: { now: () => t },
    });
  });

  after(async () => {
    await router.close();
    await model.stop();
  });

  it('stamps invocations with the clock for capture and metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${router.port}/endpoints/p/invocations`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(observed.invocations.at(-1)!.at, T0);
    assert.equal(observed.metrics.at(-1)!.at, T0);
  });

  it('closes an idle connection once the clock has moved past the keep-alive timeout', async () => {
    const kept = await rawExchange(router.port, [post], { quietMs: 1_200 });
    assert.equal(parseResponses(kept.text)[0]!.status, 200);
    assert.equal(kept.closed, false, 'the clock did not move: the connection stays open');

    const moved = rawExchange(router.port, [post], { quietMs: 3_000 });
    setTimeout(() => (t += 61_000), 200);
    const idle = await moved;
    assert.equal(parseResponses(idle.text)[0]!.status, 200);
    assert.ok(idle.closed, 'closed after 61 s of clock time, in well under a second of real time');
  });
});
