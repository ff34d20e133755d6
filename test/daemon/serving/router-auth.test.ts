/** The serving token (MLP_SERVE_TOKEN) at the router, against a real model server process. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearerProblem } from '../../../daemon/serving/router/bearer.js';
import { startRouter, type Router } from '../../../daemon/serving/router/router.js';
import { Observed, parseResponses, rawExchange, route, startModel, TestRouteTable, type ModelProcess } from './router-helpers.js';

const TOKEN = 'serve-7f3a9c0e5b1d4e2f';

describe('router with a serving token', () => {
  let model: ModelProcess;
  let router: Router;
  let open: Router;
  let observed: Observed;

  const post = (r: Router, path: string, headers: Record<string, string> = {}, body = '{"echo":true}') =>
    fetch(`http://127.0.0.1:${r.port}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;

  before(async () => {
    model = await startModel('v1');
    const table = new TestRouteTable([route('forecast', 'london', [model.target('v1', 'current', 100)])]);
    observed = new Observed();
    router = await startRouter({ host: '127.0.0.1', port: 0, table, capture: observed.capture, metrics: observed.sink, token: TOKEN });
    open = await startRouter({ host: '127.0.0.1', port: 0, table });
  });

  after(async () => {
    await Promise.all([router.close(), open.close()]);
    await model.stop();
  });

  it('refuses a request without the token, or with a wrong one, with 401 and a JSON error', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /requires the serving token: send 'Authorization: Bearer <token>' \(mlp invoke sends MLP_SERVE_TOKEN\)/],
      [{ authorization: `Bearer ${TOKEN.slice(0, -1)}` }, /wrong serving token/],
      [{ authorization: `Bearer ${TOKEN}x` }, /wrong serving token/],
      [
        { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
        /malformed Authorization header: expected 'Bearer <token>'/,
      ],
      [{ authorization: TOKEN }, /malformed Authorization header/],
    ];
    for (const [headers, message] of cases) {
      const res = await post(router, '/endpoints/forecast/groups/london/invocations', headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(res.headers.get('content-type')!, /application\/json/);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="mlp serving"');
      assert.equal(res.headers.get('x-mlp-variant'), null);
      assert.match(await errorOf(res), message);
    }
    assert.equal(observed.invocations.length + observed.metrics.length, 0, 'refused requests reach no model, capture or metrics');
  });

  it('tells nothing about pipelines without the token', async () => {
    const res = await post(router, '/endpoints/secret-pipeline/invocations');
    assert.equal(res.status, 401);
    assert.doesNotMatch(await errorOf(res), /forecast|secret-pipeline/);
  });

  it('serves a request with the token, and keeps the token from the model', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await post(router, '/endpoints/forecast/groups/london/invocations', { authorization: `${scheme} ${TOKEN}` });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-mlp-variant'), 'v1');
      const seen = (await res.json()) as { headers: Record<string, string> };
      assert.equal(seen.headers.authorization, undefined);
    }
    assert.equal(observed.invocations.length, 2);
  });

  it('answers GET /ping without the token (health checks)', async () => {
    const res = await fetch(`http://127.0.0.1:${router.port}/ping`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  it('keeps a connection usable after a 401', async () => {
    const body = '{"echo":true}';
    const request = (auth: string) =>
      `POST /endpoints/forecast/groups/london/invocations HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const { text } = await rawExchange(router.port, [request(''), request(`Authorization: Bearer ${TOKEN}\r\n`)]);
    assert.deepEqual(
      parseResponses(text).map((r) => r.status),
      [401, 200],
    );
  });

  it('without a token, authenticates nothing and passes Authorization on to the model as before', async () => {
    const res = await post(open, '/endpoints/forecast/groups/london/invocations', { authorization: 'Bearer the-model-s-own' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { headers: Record<string, string> }).headers.authorization, 'Bearer the-model-s-own');
  });
});

describe('bearerProblem', () => {
  it('accepts exactly the token after the Bearer scheme, and nothing near it', () => {
    assert.equal(bearerProblem(`Bearer ${TOKEN}`, TOKEN), null);
    assert.equal(bearerProblem(`BEARER \t ${TOKEN}`, TOKEN), null);
    for (const wrong of [
      '',
      'Bearer',
      'Bearer ',
      `Bearer${TOKEN}`,
      `Bearer ${TOKEN.slice(1)}`,
      `Bearer ${TOKEN} extra`,
      `Bearer ${TOKEN.toUpperCase()}`,
      `Bearerx ${TOKEN}`,
    ]) {
      assert.notEqual(bearerProblem(wrong, TOKEN), null, JSON.stringify(wrong));
    }
    assert.notEqual(bearerProblem(undefined, TOKEN), null);
  });
});
