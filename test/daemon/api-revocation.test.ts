/**
 * A token revoked while its session is open: the API server over a real SQLite store, with the
 * revocation written through a second connection to the same file, as `mlpd token revoke` does
 * from its own process.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startApiServer, type ApiServer } from '../../daemon/api/server.js';
import { createLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/store/db.js';
import { MlpError } from '../../shared/errors.js';
import { freshStore } from './store/helpers.js';

async function apiOver(store: ReturnType<typeof freshStore>, revocationCheckMs: number) {
  const commands: string[] = [];
  const api = await startApiServer({
    host: '127.0.0.1',
    port: 0,
    log: createLogger({ level: 'error' }),
    daemon: { version: 'test', startedAt: 0, serveUrl: 'http://127.0.0.1:1' },
    revocationCheckMs,
    handlers: {
      authenticate: (secret) => {
        const t = store.tokens.verify(secret);
        return t ? { token: t.name, role: t.role } : null;
      },
      sessionValid: (session) => store.tokens.isLive(session.token),
      snapshot: () => ({ type: 'snapshot', at: 0, repo: { root: '/repo', problems: [] }, pipelines: [] }),
      fullSnapshot: (id) => ({ type: 'full_snapshot', id, at: 0, repo: { root: '/repo', problems: [] }, pipelines: [] }),
      detail: (name) => {
        throw new MlpError('not_found', `no pipeline named '${name}' in force`);
      },
      execute: async (cmd) => {
        commands.push(`${cmd.command} ${cmd.pipeline}`);
        return { message: 'done' };
      },
      tail: () => [],
      subscribe: () => () => undefined,
    },
  });
  after(() => api.close());
  return { api, commands };
}

/** An open session that keeps every frame, and how it was closed. */
async function session(api: ApiServer, secret: string) {
  const ws = new WebSocket(api.url, { headers: { authorization: `Bearer ${secret}` } });
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the session is still open 5 s later; frames: ${JSON.stringify(frames)}`)), 5_000);
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString(), at: Date.now() });
    });
  });
  closed.catch(() => ws.terminate());
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

/** `mlpd token revoke NAME`: another connection to the same database file. */
function revokeElsewhere(dataDir: string, name: string): number {
  const other = openStore(dataDir);
  try {
    other.tokens.revoke(name);
  } finally {
    other.close();
  }
  return Date.now();
}

describe('a token revoked while its session is open', () => {
  it('refuses the next command on the session and closes it with "token revoked"', async () => {
    const store = freshStore();
    const { secret } = store.tokens.create('ci', 'operator');
    // A check interval longer than the test: only the check on the message itself can refuse it.
    const { api, commands } = await apiOver(store, 60_000);
    const s = await session(api, secret);

    s.ws.send(JSON.stringify({ type: 'command', id: 'c1', command: 'deploy', pipeline: 'p' }));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(commands, ['deploy p']);

    revokeElsewhere(store.dataDir, 'ci');
    s.ws.send(JSON.stringify({ type: 'command', id: 'c2', command: 'deploy', pipeline: 'p' }));
    const closed = await s.closed;
    assert.deepEqual([closed.code, closed.reason], [1008, 'token revoked']);
    const refusal = s.frames.find((f) => f.id === 'c2');
    assert.equal(refusal?.type, 'error');
    assert.equal(refusal?.code, 'unauthenticated');
    assert.match(String(refusal?.message), /token 'ci' was revoked/);
    assert.deepEqual(commands, ['deploy p'], 'the command of the revoked token never ran');
  });

  it('closes a session that only listens within the check interval, and leaves other tokens alone', async () => {
    const store = freshStore();
    const revoked = store.tokens.create('laptop', 'operator');
    const kept = store.tokens.create('dashboard', 'viewer');
    const { api } = await apiOver(store, 100);
    const listening = await session(api, revoked.secret);
    const alsoListening = await session(api, revoked.secret);
    const other = await session(api, kept.secret);

    const at = revokeElsewhere(store.dataDir, 'laptop');
    for (const s of [listening, alsoListening]) {
      const closed = await s.closed;
      assert.deepEqual([closed.code, closed.reason], [1008, 'token revoked']);
      assert.ok(closed.at - at < 1_000, `closed ${closed.at - at} ms after the revocation`);
    }
    assert.equal(other.ws.readyState, WebSocket.OPEN);
    other.ws.send(JSON.stringify({ type: 'ping', id: 'still' }));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(other.frames.at(-1), { type: 'pong', id: 'still' });
    other.ws.close();
  });
});
