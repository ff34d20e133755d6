import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRouter, type Router } from '../../../daemon/serving/router/router.js';
import { freePort, Observed, parseResponses, rawExchange, route, startModel, TestRouteTable, type ModelProcess } from './router-helpers.js';

const post = (body: string, headers = '') =>
  `POST /endpoints/p/invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('model-traffic router, HTTP/1.1 on the wire', () => {
  let model: ModelProcess;
  let router: Router;
  let observed: Observed;
  let port: number;

  before(async () => {
    model = await startModel('m1');
    observed = new Observed();
    const table = new TestRouteTable([route('p', 'g', [model.target('m1', 'current', 100)])]);
    router = await startRouter({
      host: '127.0.0.1',
      port: 0,
      table,
      capture: observed.capture,
      metrics: observed.sink,
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 1_500 },
    });
    port = router.port;
  });

  after(async () => {
    await router.close();
    await model.stop();
  });

  const stillServes = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/endpoints/p/invocations`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  };

  it('answers pipelined requests in order, errors included', async () => {
    const bad = 'POST /endpoints/nope/invocations HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}';
    const { text } = await rawExchange(port, [post('{"echo":true,"i":1}') + bad + post('{"echo":true,"i":3}')]);
    const answers = parseResponses(text);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 404, 200],
    );
    assert.equal(answers[0]!.headers['x-mlp-variant'], 'm1');
    const echoed = (a: { body: string }) => Buffer.from((JSON.parse(a.body) as { body: string }).body, 'base64').toString();
    assert.equal(echoed(answers[0]!), '{"echo":true,"i":1}');
    assert.equal(echoed(answers[2]!), '{"echo":true,"i":3}');
  });

  it('takes a chunked request body and forwards it with a Content-Length', async () => {
    const body = '{"echo":true,"pad":"0123456789"}';
    const chunked = `${(20).toString(16)}\r\n${body.slice(0, 20)}\r\n${(body.length - 20).toString(16)};ext=1\r\n${body.slice(20)}\r\n0\r\n\r\n`;
    const head =
      'POST /endpoints/p/invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n';
    const { text } = await rawExchange(port, [head, chunked.slice(0, 7), chunked.slice(7)], { gapMs: 20 });
    const [answer] = parseResponses(text);
    assert.equal(answer!.status, 200);
    const seen = JSON.parse(answer!.body) as { body: string; headers: Record<string, string>; url: string };
    assert.equal(Buffer.from(seen.body, 'base64').toString(), body);
    assert.equal(seen.headers['content-length'], String(body.length));
    assert.equal(seen.headers['transfer-encoding'], undefined);
    assert.equal(seen.url, '/invocations');
  });

  it('answers Expect: 100-continue, and speaks HTTP/1.0 to a 1.0 client', async () => {
    const body = '{"week":1}';
    const { text } = await rawExchange(
      port,
      [`POST /endpoints/p/invocations HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`, body],
      { gapMs: 50 },
    );
    assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);

    const ask = '{"chunks":["ab","cd","e"]}';
    const old = await rawExchange(port, [`POST /endpoints/p/invocations HTTP/1.0\r\nContent-Length: ${ask.length}\r\n\r\n${ask}`]);
    const [answer] = parseResponses(old.text);
    assert.equal(answer!.status, 200);
    assert.equal(answer!.headers['transfer-encoding'], undefined, 'a 1.0 client gets no chunked body');
    assert.equal(answer!.headers['content-length'], '5');
    assert.equal(answer!.body, 'abcde');
    assert.equal(answer!.headers.connection, 'close');
    assert.ok(old.closed, 'and the connection is closed after it');
  });

  it('forwards a large body and a large answer intact', async () => {
    const pad = randomBytes(400 * 1024).toString('hex');
    const body = JSON.stringify({ echo: true, pad });
    const res = await fetch(`http://127.0.0.1:${port}/endpoints/p/invocations`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    const seen = (await res.json()) as { body: string };
    assert.equal(Buffer.from(seen.body, 'base64').toString(), body);
    const captured = observed.invocations.at(-1)!;
    assert.equal(captured.requestBody.toString(), body);
    assert.equal((JSON.parse(captured.responseBody.toString()) as { body: string }).body, seen.body);
  });

  it('answers malformed HTTP with 400 and closes the connection', async () => {
    const cases: [string, number, RegExp][] = [
      ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n', 400, /malformed request line/],
      ['GET /ping HTTP/2.0\r\n\r\n', 400, /unsupported protocol 'HTTP\/2\.0'/],
      ['POST /endpoints/p/invocations HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n', 400, /invalid Content-Length/],
      ['POST /endpoints/p/invocations HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', 400, /conflicting Content-Length/],
      [
        'POST /endpoints/p/invocations HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}',
        400,
        /both Transfer-Encoding and Content-Length/,
      ],
      ['POST /endpoints/p/invocations HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 400, /unsupported Transfer-Encoding 'gzip'/],
      ['POST /endpoints/p/invocations HTTP/1.1\r\nX-Smuggle: a\nContent-Length: 5\r\n\r\n', 400, /a bare CR or LF in header X-Smuggle/],
      ['POST /endpoints/p/invocations HTTP/1.1\r\nX-Smuggle: a\rContent-Length: 5\r\n\r\n', 400, /a bare CR or LF in header X-Smuggle/],
      ['POST /endpoints/p/invocations HTTP/1.1\r\nX-Nul: a\0b\r\n\r\n', 400, /NUL in the request head/],
      ['POST /endpoints/p/invocations HTTP/1.1\r\nContent-Length : 2\r\n\r\n{}', 400, /malformed header name/],
      ['POST /endpoints/p/invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, /malformed chunked request body/],
      [`GET /ping HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, /request head is over 16384 bytes/],
      ['POST /endpoints/p/invocations HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n', 413, /99999999 bytes; the limit is 6291456 bytes/],
    ];
    for (const [bytes, status, message] of cases) {
      const { text, closed } = await rawExchange(port, [bytes]);
      const [answer] = parseResponses(text);
      assert.equal(answer?.status, status, `${JSON.stringify(bytes.slice(0, 60))} → ${text.slice(0, 200)}`);
      assert.match((JSON.parse(answer!.body) as { error: string }).error, message);
      assert.equal(answer!.headers.connection, 'close');
      assert.ok(closed, `closed after ${message}`);
    }
    await stillServes();
  });

  it('does not crash on garbage, truncated or mangled requests', async () => {
    const valid = Buffer.from(post('{"week":12}'));
    const inputs: Buffer[] = [];
    for (let i = 0; i < 60; i++) inputs.push(randomBytes(1 + Math.floor(Math.random() * 300)));
    for (let i = 0; i < 60; i++) inputs.push(valid.subarray(0, Math.floor(Math.random() * valid.length)));
    for (let i = 0; i < 120; i++) {
      const m = Buffer.from(valid);
      for (let k = 0; k < 1 + (i % 4); k++) m[Math.floor(Math.random() * m.length)] = Math.floor(Math.random() * 256);
      inputs.push(m);
    }
    for (let i = 0; i < inputs.length; i += 20) {
      await Promise.all(inputs.slice(i, i + 20).map((input) => rawExchange(port, [input], { quietMs: 100 })));
    }
    await stillServes();
  });

  it('cuts off clients that send too slowly, and closes idle connections', async () => {
    const started = Date.now();
    const slowHead = await rawExchange(port, ['POST /endpoints/p/invocations HTTP/1.1\r\n', ...'X-Drip: 1234567890\r\n'.split('')], {
      gapMs: 100,
      quietMs: 3_000,
    });
    assert.match(slowHead.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(slowHead.text, /the request head did not arrive within 300 ms/);
    assert.ok(slowHead.closed);

    const slowBody = await rawExchange(port, [post('{"week":12}').slice(0, -4)], { quietMs: 3_000 });
    assert.match(slowBody.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(slowBody.text, /the request did not arrive within 600 ms/);

    const idle = await rawExchange(port, [post('{}')], { quietMs: 4_000 });
    assert.equal(parseResponses(idle.text)[0]!.status, 200);
    assert.ok(idle.closed, 'an idle keep-alive connection is closed after keepAliveTimeoutMs');
    assert.ok(Date.now() - started < 12_000);
    await stillServes();
  });

  it('serves a Python model that speaks HTTP/1.0 and closes after each answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlp-router-py-'));
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ city: 'london', weekly_mean: { '12': 412.5 } }));
    const script = resolve(import.meta.dirname, '../../../examples/repo/demand-forecast/serve.py');
    const py = await startModel('py', { MLP_MODEL_DIR: dir }, { cmd: 'python3', args: [script], port: await freePort() });
    const table = new TestRouteTable([route('demand-forecast', 'london', [py.target('v1', 'current', 100)])]);
    const r = await startRouter({ host: '127.0.0.1', port: 0, table });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${r.port}/endpoints/demand-forecast/invocations`, {
          method: 'POST',
          body: '{"week": 12}',
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-mlp-variant'), 'v1');
        assert.deepEqual(await res.json(), { city: 'london', demand: 412.5 });
      }
    } finally {
      await r.close();
      await py.stop();
    }
  });
});
