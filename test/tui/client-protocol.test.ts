import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { connect } from '../../tui/client.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { MlpError } from '../../shared/errors.js';

test('a client and a daemon of different protocol versions stop at the hello, saying which versions and what to do', async (t) => {
  const older = PROTOCOL_VERSION - 1;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.after(() => wss.close());
  wss.on('connection', (ws) => {
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: older,
        daemon: { version: '0.0.9', startedAt: 0, serveUrl: 'http://x' },
        session: { token: 't', role: 'viewer' },
      }),
    );
    // What an older daemon sends next: full pipeline views this client must not try to read as summaries.
    ws.send(
      JSON.stringify({ type: 'snapshot', at: 0, repo: { root: '/r', problems: [] }, pipelines: [{ name: 'a', groups: ['london'] }] }),
    );
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  await assert.rejects(connect({ url, token: 't' }, { timeoutMs: 5_000 }), (err: unknown) => {
    assert.ok(err instanceof MlpError);
    assert.equal(err.code, 'unavailable');
    assert.equal(
      err.message,
      `mlpd at ${url} speaks API protocol ${older}, this mlp speaks ${PROTOCOL_VERSION}: install the same mlp version on both sides`,
    );
    return true;
  });
});
