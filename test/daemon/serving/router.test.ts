import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRouter, type Router } from '../../../daemon/serving/router/router.js';
import { Observed, route, startModel, TestRouteTable, type ModelProcess } from './router-helpers.js';

type Json = Record<string, unknown>;

describe('model-traffic router', () => {
  let v1: ModelProcess;
  let v2: ModelProcess;
  let table: TestRouteTable;
  let router: Router;
  let observed: Observed;
  let base: string;

  const invoke = (path: string, body = '{"week":12}', headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;

  before(async () => {
    [v1, v2] = await Promise.all([startModel('v1'), startModel('v2')]);
    table = new TestRouteTable([
      route('forecast', 'london', [v1.target('v1', 'current', 90), v2.target('v2', 'candidate', 10)]),
      route('churn', 'eu', [v1.target('v1', 'current', 100)]),
      route('churn', 'us', [v2.target('v2', 'current', 100)]),
      route('empty', 'default', []),
      // A group named like a path to another pipeline's group (groups are warehouse data).
      route('paths', '../churn/us', [v1.target('v1', 'current', 100)]),
      // A pipeline served on SageMaker (a group that moved there): nothing of it is live here.
      route('moved', 'default', [], { servedOn: 'mlp-moved-default-1a2b3c4d' }),
    ]);
    observed = new Observed();
    router = await startRouter({
      host: '127.0.0.1',
      port: 0,
      table,
      capture: observed.capture,
      metrics: observed.sink,
      maxBodyBytes: 64 * 1024,
    });
    base = `http://127.0.0.1:${router.port}`;
  });

  after(async () => {
    await router.close();
    await Promise.all([v1.stop(), v2.stop()]);
  });

  it('splits 90/10 exactly over 1,000 requests, says who answered, and reuses model connections', async () => {
    const before = await Promise.all([v1.stats(), v2.stats()]);
    const counts: Record<string, number> = {};
    const send = async () => {
      const res = await invoke('/endpoints/forecast/invocations');
      assert.equal(res.status, 200);
      const variant = res.headers.get('x-mlp-variant')!;
      assert.equal(((await res.json()) as Json).variant, variant, 'the header names the variant that answered');
      counts[variant] = (counts[variant] ?? 0) + 1;
    };
    for (let i = 0; i < 100; i++) await Promise.all(Array.from({ length: 10 }, send));
    assert.deepEqual(counts, { v1: 900, v2: 100 });

    const afterStats = await Promise.all([v1.stats(), v2.stats()]);
    assert.equal(afterStats[0].invocations - before[0].invocations, 900);
    assert.equal(afterStats[1].invocations - before[1].invocations, 100);
    // 10 requests in flight at most: a handful of keep-alive connections carry all 1,000.
    assert.ok(
      afterStats[0].connections - before[0].connections <= 10,
      `v1 got ${afterStats[0].connections - before[0].connections} connections`,
    );
    assert.ok(
      afterStats[1].connections - before[1].connections <= 10,
      `v2 got ${afterStats[1].connections - before[1].connections} connections`,
    );
  });

  it('takes the group from the path or from X-Mlp-Group, and asks for one when the pipeline has several', async () => {
    const byPath = await invoke('/endpoints/churn/groups/us/invocations');
    assert.equal(byPath.headers.get('x-mlp-variant'), 'v2');
    await byPath.body?.cancel();
    const byHeader = await invoke('/endpoints/churn/invocations', '{}', { 'x-mlp-group': 'eu' });
    assert.equal(byHeader.headers.get('x-mlp-variant'), 'v1');
    await byHeader.body?.cancel();

    const none = await invoke('/endpoints/churn/invocations');
    assert.equal(none.status, 400);
    assert.match(await errorOf(none), /'churn' has 2 groups \(eu, us\): name one with the X-Mlp-Group header/);
    const unknown = await invoke('/endpoints/churn/groups/asia/invocations');
    assert.equal(unknown.status, 404);
    assert.match(await errorOf(unknown), /pipeline 'churn' has no group 'asia' \(groups: eu, us\)/);
  });

  it("a group named like a path reaches only its own pipeline's group, never another pipeline's", async () => {
    const churnUs = 'v2';
    const own = await invoke('/endpoints/paths/groups/..%2Fchurn%2Fus/invocations');
    assert.equal(own.headers.get('x-mlp-variant'), 'v1');
    await own.body?.cancel();
    const byHeader = await invoke('/endpoints/paths/invocations', '{}', { 'x-mlp-group': '../churn/us' });
    assert.equal(byHeader.headers.get('x-mlp-variant'), 'v1');
    await byHeader.body?.cancel();
    for (const path of [
      '/endpoints/paths%2F..%2Fchurn/groups/us/invocations',
      '/endpoints/paths/groups/..%2F..%2Fchurn%2Fus/invocations',
      '/endpoints/churn/groups/..%2Fchurn%2Fus/invocations',
    ]) {
      const res = await invoke(path);
      assert.equal(res.status, 404, path);
      assert.notEqual(res.headers.get('x-mlp-variant'), churnUs, path);
      await res.body?.cancel();
    }
  });

  it('pins a variant by name or role, and says which variants are live when the pin is wrong', async () => {
    for (const [pin, expected] of [
      ['v2', 'v2'],
      ['candidate', 'v2'],
      ['current', 'v1'],
      ['v1', 'v1'],
    ]) {
      const res = await invoke('/endpoints/forecast/invocations', '{}', { 'x-mlp-target-variant': pin! });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-mlp-variant'), expected);
      await res.body?.cancel();
    }
    const unknown = await invoke('/endpoints/forecast/invocations', '{}', { 'x-mlp-target-variant': 'v9' });
    assert.equal(unknown.status, 400);
    assert.match(
      await errorOf(unknown),
      /no live variant 'v9' in forecast\/london .*live: v1 \(current, weight 90\), v2 \(candidate, weight 10\)/,
    );
    const noCandidate = await invoke('/endpoints/churn/groups/eu/invocations', '{}', { 'x-mlp-target-variant': 'candidate' });
    assert.equal(noCandidate.status, 503);
    assert.match(await errorOf(noCandidate), /no live candidate variant in churn\/eu .*live: v1 \(current, weight 100\)/);
  });

  it('answers routing mistakes with JSON errors that say what to fix', async () => {
    const cases: [Response, number, RegExp][] = [
      [await invoke('/endpoints/nope/invocations'), 404, /no pipeline named 'nope' \(known: forecast, churn, empty, paths, moved\)/],
      [await invoke('/endpoints/empty/invocations'), 503, /no live model for empty\/default: deploy a version first \(mlp deploy empty\)/],
      [
        await invoke('/endpoints/moved/invocations'),
        503,
        /moved\/default serves on SageMaker endpoint mlp-moved-default-1a2b3c4d, not on this router: call the endpoint \(mlp invoke moved does\)/,
      ],
      [await fetch(`${base}/endpoints/forecast/invocations`), 405, /use POST for invocations, not GET/],
      [await invoke('/somewhere/else'), 404, /no such endpoint: POST \/somewhere\/else/],
      [await invoke('/endpoints/forecast/invocations', '{"week": 1'), 400, /not valid JSON but Content-Type says application\/json/],
      [await invoke('/endpoints/forecast/invocations', 'x'.repeat(64 * 1024 + 1)), 413, /65537 bytes; the limit is 65536 bytes/],
    ];
    for (const [res, status, message] of cases) {
      assert.equal(res.status, status, `${message}`);
      assert.match(res.headers.get('content-type')!, /application\/json/);
      assert.match(await errorOf(res), message);
    }
    const ok = await invoke('/endpoints/forecast/invocations', 'not json', { 'content-type': 'text/csv' });
    assert.equal(ok.status, 200, 'a body is only checked when it claims to be JSON');
    await ok.body?.cancel();
    const ping = await fetch(`${base}/ping`);
    assert.equal(ping.status, 200);
    await ping.body?.cancel();
  });

  it('still serves after refusing an oversized body', async () => {
    const big = await invoke('/endpoints/forecast/invocations', 'x'.repeat(1024 * 1024));
    assert.equal(big.status, 413);
    await big.body?.cancel();
    const next = await invoke('/endpoints/forecast/invocations');
    assert.equal(next.status, 200);
    await next.body?.cancel();
  });

  it('hands every invocation to capture and metrics exactly once, with its bodies and inference id', async () => {
    observed.invocations.length = 0;
    observed.metrics.length = 0;
    const sent: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const body = JSON.stringify({ week: i, echo: true });
      sent.push(body);
      const headers: Record<string, string> = i === 0 ? { 'x-mlp-inference-id': 'req-123' } : {};
      const res = await invoke('/endpoints/forecast/groups/london/invocations', body, headers);
      ids.push(res.headers.get('x-mlp-inference-id')!);
      const answer = (await res.json()) as { headers: Json; body: string };
      assert.equal(answer.headers['x-mlp-inference-id'], ids[i], 'the model sees the same inference id');
      assert.equal(Buffer.from(answer.body, 'base64').toString(), body, 'the model gets the body unchanged');
    }
    assert.equal(ids[0], 'req-123');
    assert.equal(new Set(ids).size, 20);
    assert.equal(observed.invocations.length, 20);
    assert.equal(observed.metrics.length, 20);
    for (const [i, inv] of observed.invocations.entries()) {
      assert.equal(inv.pipeline, 'forecast');
      assert.equal(inv.group, 'london');
      assert.equal(inv.status, 200);
      assert.equal(inv.inferenceId, ids[i]);
      assert.equal(inv.requestBody.toString(), sent[i]);
      assert.equal(inv.requestContentType, 'application/json');
      assert.equal(inv.responseContentType, 'application/json');
      assert.equal((JSON.parse(inv.responseBody.toString()) as Json).variant, inv.variant);
      assert.ok(inv.latencyMs > 0 && inv.latencyMs < 5_000);
      assert.ok(Math.abs(inv.at - Date.now()) < 60_000);
      const m = observed.metrics[i]!;
      assert.deepEqual(
        [m.pipeline, m.group, m.variant, m.status, m.latencyMs, m.at],
        [inv.pipeline, inv.group, inv.variant, inv.status, inv.latencyMs, inv.at],
      );
    }
    assert.deepEqual(observed.invocations.map((i) => i.variant).filter((v) => v === 'v2').length, 2, 'the split holds for these 20 too');
  });
});

describe('model-traffic router against failing models', () => {
  let model: ModelProcess;
  let table: TestRouteTable;
  let router: Router;
  let observed: Observed;
  let base: string;
  const invoke = (ask: Json, headers: Record<string, string> = {}) =>
    fetch(`${base}/endpoints/p/invocations`, {
      method: 'POST',
      body: JSON.stringify(ask),
      headers: { 'content-type': 'application/json', ...headers },
    });

  before(async () => {
    model = await startModel('m1', { KEEP_ALIVE_MS: '300' });
    table = new TestRouteTable([route('p', 'g', [model.target('m1', 'current', 100)], { timeoutMs: 400 })]);
    observed = new Observed();
    router = await startRouter({ host: '127.0.0.1', port: 0, table, capture: observed.capture, metrics: observed.sink });
    base = `http://127.0.0.1:${router.port}`;
  });

  after(async () => {
    await router.close();
    await model.stop();
  });

  it('passes a model 5xx through unchanged and counts it as an error', async () => {
    observed.metrics.length = 0;
    const res = await invoke({ status: 500 });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('x-mlp-variant'), 'm1');
    assert.deepEqual(await res.json(), { variant: 'm1', n: (await model.stats()).invocations, error: 'model failed' });
    assert.equal(observed.metrics.at(-1)!.status, 500);
  });

  it('answers 504 when the model takes longer than the route timeout, and serves the next request', async () => {
    const started = Date.now();
    const res = await invoke({ sleepMs: 1_500 });
    assert.equal(res.status, 504);
    assert.equal(res.headers.get('x-mlp-variant'), 'm1');
    assert.match(((await res.json()) as { error: string }).error, /variant m1 of p\/g did not answer within 400 ms/);
    assert.ok(Date.now() - started < 1_200);
    assert.equal(observed.metrics.at(-1)!.status, 504);
    assert.equal(observed.invocations.at(-1)!.status, 504);
    const next = await invoke({});
    assert.equal(next.status, 200);
    await next.body?.cancel();
  });

  it('answers 502 when the model resets the connection, without sending the POST again', async () => {
    const before = (await model.stats()).invocations;
    const res = await invoke({ reset: true });
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { error: string }).error, /model server of variant m1 \(p\/g\) failed: .*(reset|closed)/);
    assert.equal((await model.stats()).invocations - before, 1, 'a request the model may have seen is not retried');
  });

  it('survives the model closing idle keep-alive connections', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await invoke({});
      assert.equal(res.status, 200);
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 500)); // longer than the model's 300 ms keep-alive
    }
  });

  it('takes a body that ends when the model closes, and streams a chunked one', async () => {
    const closeDelimited = await invoke({ noLength: true });
    assert.equal(closeDelimited.status, 200);
    assert.equal(
      closeDelimited.headers.get('content-length'),
      String(JSON.stringify({ variant: 'm1', n: (await model.stats()).invocations }).length),
    );
    assert.equal(((await closeDelimited.json()) as Json).variant, 'm1');
    observed.invocations.length = 0;
    const chunked = await invoke({ chunks: ['abc', 'defg', 'h'] });
    assert.equal(chunked.headers.get('transfer-encoding'), 'chunked');
    assert.equal(await chunked.text(), 'abcdefgh');
    assert.equal(observed.invocations[0]!.responseBody.toString(), 'abcdefgh', 'capture gets the de-chunked body');
  });

  it('answers 502 when the model is not there at all, and recovers when the route changes', async () => {
    const gone = await startModel('gone');
    await gone.stop();
    table.set([route('p', 'g', [gone.target('gone', 'current', 100)])]);
    const res = await invoke({});
    assert.equal(res.status, 502);
    assert.match(
      ((await res.json()) as { error: string }).error,
      /connection refused by 127\.0\.0\.1:\d+ \(is the model server running\?\)/,
    );
    table.set([route('p', 'g', [model.target('m1', 'current', 100)], { timeoutMs: 400 })]);
    const back = await invoke({});
    assert.equal(back.status, 200);
    await back.body?.cancel();
  });

  it('applies new weights as soon as the route table changes', async () => {
    const other = await startModel('m2');
    try {
      table.set([route('p', 'g', [model.target('m1', 'current', 50), other.target('m2', 'candidate', 50)])]);
      const seen: string[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await invoke({});
        seen.push(res.headers.get('x-mlp-variant')!);
        await res.body?.cancel();
      }
      assert.deepEqual(seen.filter((v) => v === 'm2').length, 5);
      table.set([
        route('p', 'g', [model.target('m1', 'current', 100), other.target('m2', 'candidate', 0)], { captureSamplingPercent: 10 }),
      ]);
      observed.invocations.length = 0;
      for (let i = 0; i < 30; i++) {
        const res = await invoke({});
        assert.equal(res.headers.get('x-mlp-variant'), 'm1', 'a weight of 0 gets no unpinned traffic');
        await res.body?.cancel();
      }
      assert.equal(observed.invocations.length, 3, '10% sampling captures exactly every tenth invocation');
      const pinned = await invoke({}, { 'x-mlp-target-variant': 'm2' });
      assert.equal(pinned.headers.get('x-mlp-variant'), 'm2', 'but it can be pinned');
      await pinned.body?.cancel();
      table.set([route('p', 'g', [model.target('m1', 'current', 0)])]);
      const none = await invoke({});
      assert.equal(none.status, 503);
      assert.match(
        ((await none.json()) as { error: string }).error,
        /no live variant of p\/g has traffic weight .*pin one with X-Mlp-Target-Variant/,
      );
    } finally {
      table.set([route('p', 'g', [model.target('m1', 'current', 100)], { timeoutMs: 400 })]);
      await other.stop();
    }
  });

  it('lets a request in flight finish when it closes, and then refuses connections', async () => {
    const r2 = await startRouter({ host: '127.0.0.1', port: 0, table });
    const inFlight = fetch(`http://127.0.0.1:${r2.port}/endpoints/p/invocations`, { method: 'POST', body: '{"sleepMs": 200}' });
    await new Promise((r) => setTimeout(r, 50));
    await r2.close();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('connection'), 'close');
    await assert.rejects(fetch(`http://127.0.0.1:${r2.port}/ping`));
  });
});
