import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChunkedDecoder,
  isJsonContentType,
  parseRequestHead,
  parseResponseHead,
  RequestHead,
  ResponseHead,
  unframedLines,
} from '../../../daemon/serving/router/http1.js';

describe('HTTP/1.1 heads', () => {
  it('reads what the router acts on and keeps the other header lines verbatim', () => {
    const head = new RequestHead();
    const text =
      'POST /endpoints/p/invocations?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nX-Mlp-Group: london\r\nX-Custom-Attributes: k=v\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n';
    assert.equal(parseRequestHead(text, text.length, head), null);
    assert.deepEqual(
      {
        method: head.method,
        target: head.target,
        length: head.contentLength,
        group: head.group,
        type: head.contentType,
        keepAlive: head.keepAlive,
      },
      { method: 'POST', target: '/endpoints/p/invocations?x=1', length: 11, group: 'london', type: 'application/json', keepAlive: true },
    );
    assert.equal(head.forward, 'X-Mlp-Group: london\r\nX-Custom-Attributes: k=v\r\nContent-Type: application/json\r\n');
    assert.equal(parseRequestHead('GET / HTTP/1.0\r\n', 16, head), null);
    assert.equal(head.keepAlive, false, 'HTTP/1.0 closes unless asked otherwise');
    const upgrade = 'GET / HTTP/1.1\r\nConnection: Upgrade, close\r\n';
    assert.equal(parseRequestHead(upgrade, upgrade.length, head), null);
    assert.equal(head.keepAlive, false);
  });

  it('reads a response head and drops hop-by-hop fields', () => {
    const head = new ResponseHead();
    const text =
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nDate: x\r\n';
    const read = `junk${text}\r\nbody`;
    assert.equal(parseResponseHead(read, 4, 4 + text.length, head), null);
    assert.deepEqual(
      [head.status, head.statusText, head.chunked, head.reusable, head.keepAliveMs, head.contentType],
      [200, '200 OK', true, true, 5000, 'application/json'],
    );
    assert.equal(head.forward, 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nDate: x\r\n');
    assert.equal(unframedLines(head), 'Content-Type: application/json\r\nDate: x\r\n');

    const parse = (t: string) => parseResponseHead(t, 0, t.length, head);
    assert.equal(parse('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n'), null);
    assert.deepEqual([head.reusable, head.contentLength], [false, 3], 'an HTTP/1.0 server closes after its answer');
    assert.equal(parse('HTTP/1.0 204\r\nConnection: Keep-Alive\r\n'), null);
    assert.deepEqual([head.status, head.reusable], [204, true]);
    assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: close\r\n'), null);
    assert.equal(head.reusable, false);
    assert.match(parse('HTTP/1.1 2xx\r\n')!, /malformed status line/);
    assert.match(parse('HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n')!, /invalid Content-Length/);
    assert.match(parse('HTTP/1.1 200 OK\r\nno colon\r\n')!, /malformed header line/);
  });

  it('knows JSON content types', () => {
    assert.ok(isJsonContentType('application/json'));
    assert.ok(isJsonContentType('Application/JSON; charset=utf-8'));
    assert.ok(isJsonContentType('application/vnd.api+json'));
    assert.ok(!isJsonContentType('text/csv'));
    assert.ok(!isJsonContentType('application/jsonlines'));
  });
});

describe('chunked decoder', () => {
  const body = '5;name=x\r\nhello\r\n1\r\n \r\nb\r\nworld again\r\n0\r\nTrailer: 1\r\n\r\nNEXT';

  it('finds the end and the data however the bytes are split', () => {
    for (const step of [1, 2, 3, 7, body.length]) {
      const d = new ChunkedDecoder();
      const parts: string[] = [];
      let end = -1;
      for (let i = 0; i < body.length && end === -1; i += step) {
        const r = d.feed(body, i, Math.min(i + step, body.length), parts);
        assert.notEqual(r, -2, d.error);
        end = r;
      }
      assert.equal(parts.join(''), 'hello world again', `step ${step}`);
      assert.equal(body.slice(end), 'NEXT', `step ${step}`);
    }
  });

  it('rejects malformed framing', () => {
    for (const bad of ['zz\r\n', '5\r\nhelloX\r\n', '5\nhello', 'ffffffffffffff\r\n']) {
      const d = new ChunkedDecoder();
      assert.equal(d.feed(bad, 0, bad.length, null), -2, bad);
      assert.ok(d.error);
    }
  });
});
