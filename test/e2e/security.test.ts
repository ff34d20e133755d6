/**
 * What is authenticated and what binds where (docs/security.md), from outside: a real `mlpd start`
 * with the bundled example and a serving token, the real `mlpd token` CLI, `mlp invoke`, and the
 * example's own model server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pidsWithEnv } from '../helpers/processes.js';
import { copyExampleRepo } from '../helpers/repo.js';

const SERVE_TOKEN = 'serve-token-1f8e3b2a9c7d';

interface StatusJson {
  pipelines: {
    rollout: { phase: string; decisions: unknown[] } | null;
    variants: { group: string; state: string; port: number | null }[];
  }[];
}

/** An address of this machine other machines can reach, if it has one. */
function networkAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && !a.internal && a.family === 'IPv4')?.address;
}

/** 'refused', or 'connected' when something listens on host:port. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : (err.code ?? err.message)));
  });
}

describe('security: who may call what, and where things listen', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon({ repo: copyExampleRepo(), env: { MLP_SERVE_TOKEN: SERVE_TOKEN } });
  });
  after(async () => {
    await d?.stop();
  });

  it('closes the open session of a token revoked with `mlpd token revoke` within a second, and runs none of its commands', async () => {
    const created = await runCli('mlpd', ['token', 'create', '--role', 'operator', '--name', 'laptop', '--data-dir', d.dataDir]);
    assert.equal(created.code, 0, created.stderr);
    const ws = new WebSocket(d.apiUrl, { headers: { authorization: `Bearer ${created.stdout.trim()}` } });
    const frames: { type: string; id?: string; code?: string; message?: string }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
    const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })),
    );
    await eventually(() => (frames.some((f) => f.type === 'snapshot') ? true : undefined), 10_000, 'the snapshot');

    const revoked = await runCli('mlpd', ['token', 'revoke', 'laptop', '--data-dir', d.dataDir]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const revokedAt = Date.now();
    if (ws.readyState === WebSocket.OPEN)
      ws.send(JSON.stringify({ type: 'command', id: 'late-deploy', command: 'deploy', pipeline: 'demand-forecast' }));

    const end = await Promise.race([closed, new Promise<undefined>((r) => setTimeout(r, 5_000))]);
    assert.ok(
      end,
      `the session is still open 5 s after the revocation; frames: ${JSON.stringify(frames.map((f) => (f.id ? { type: f.type, id: f.id } : f.type)))}`,
    );
    assert.deepEqual([end.code, end.reason], [1008, 'token revoked']);
    assert.ok(end.at - revokedAt < 1_500, `closed ${end.at - revokedAt} ms after mlpd token revoke returned`);
    const answer = frames.find((f) => f.id === 'late-deploy');
    if (answer) assert.deepEqual([answer.type, answer.code], ['error', 'unauthenticated'], JSON.stringify(answer));

    const db = new Database(join(d.dataDir, 'mlp.db'), { readonly: true });
    try {
      assert.deepEqual(db.prepare("SELECT id FROM runs WHERE reason LIKE '%laptop%'").all(), [], 'the revoked token queued no run');
    } finally {
      db.close();
    }
    assert.match(d.stderr(), /closed a connection of token 'laptop': the token was revoked/);
  });

  it(
    'serves the example through the router only: its server got HOST=127.0.0.1 and is not reachable from the network',
    { timeout: 180_000 },
    async () => {
      const env = d.clientEnv();
      assert.equal((await runCli('mlp', ['deploy', 'demand-forecast'], { env })).code, 0);
      const status = await eventually(
        async () => {
          const s = JSON.parse((await runCli('mlp', ['status', '--json'], { env })).stdout) as StatusJson;
          const r = s.pipelines[0]!.rollout;
          return r && ['promoted', 'blocked', 'failed', 'rolled_back'].includes(r.phase) ? s : undefined;
        },
        120_000,
        'the first rollout to end',
      );
      const p = status.pipelines[0]!;
      assert.equal(p.rollout!.phase, 'promoted', JSON.stringify(p.rollout!.decisions));
      const london = p.variants.find((v) => v.group === 'london' && v.state === 'live')!;
      assert.ok(london.port, JSON.stringify(p.variants));

      assert.notDeepEqual(
        pidsWithEnv({ PORT: String(london.port), MLP_GROUP: 'london', HOST: '127.0.0.1' }),
        [],
        'the model server was told HOST=127.0.0.1',
      );
      assert.equal(await tryConnect('127.0.0.1', london.port!), 'connected', 'the daemon reaches it on loopback');
      const address = networkAddress();
      if (address === undefined) {
        console.log('# this machine has no non-loopback IPv4 address: cannot try the model server from the network');
      } else {
        assert.equal(
          await tryConnect(address, london.port!),
          'refused',
          `the model server answers on ${address}:${london.port}, past the router`,
        );
      }

      const answer = await runCli('mlp', ['invoke', 'demand-forecast', '--group', 'london', '--data', '{"week": 12}'], {
        env: { ...env, MLP_SERVE_TOKEN: SERVE_TOKEN },
      });
      assert.equal(answer.code, 0, answer.stderr);
      assert.equal((JSON.parse(answer.stdout) as { city: string }).city, 'london');
    },
  );

  it('requires the serving token at the router: mlp invoke without it exits 3 and names MLP_SERVE_TOKEN', async () => {
    const invoke = (extra: Record<string, string>) =>
      runCli('mlp', ['invoke', 'demand-forecast', '--group', 'london', '--data', '{"week": 12}'], { env: { ...d.clientEnv(), ...extra } });
    const without = await invoke({});
    assert.equal(without.code, 3, without.stderr);
    assert.match(without.stderr, /the router refused the request: this router requires the serving token.*set MLP_SERVE_TOKEN/);
    const wrong = await invoke({ MLP_SERVE_TOKEN: 'not-the-serving-token' });
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stderr, /wrong serving token.*check MLP_SERVE_TOKEN/);

    const raw = await fetch(`${d.serveUrl}/endpoints/demand-forecast/groups/london/invocations`, {
      method: 'POST',
      body: '{"week": 12}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(raw.status, 401);
    assert.match(((await raw.json()) as { error: string }).error, /Authorization: Bearer/);
    assert.equal((await fetch(`${d.serveUrl}/ping`)).status, 200, 'health checks need no token');
    assert.match(d.stderr(), /requires the serving token \(MLP_SERVE_TOKEN\)/);
  });
});

describe('mlpd start without a serving token', () => {
  it('warns when the router is reachable from the network', async () => {
    const open = await startTestDaemon({ repo: copyExampleRepo(), args: ['--host', '0.0.0.0'] });
    try {
      await open.waitForLog(
        /serving: http:\/\/0\.0\.0\.0:\d+ is reachable from the network and has no authentication: .*set MLP_SERVE_TOKEN/,
      );
    } finally {
      await open.stop();
    }
    const local = await startTestDaemon({ repo: copyExampleRepo() });
    await local.stop();
    await local.waitForLog(/: stopped/); // the last line: everything before it has arrived
    assert.doesNotMatch(local.stderr(), /has no authentication/, 'the default --host 127.0.0.1 is not reachable from the network');
  });
});

describe('mlpd start with a serving token that cannot work', () => {
  it('refuses to start, saying what is wrong with MLP_SERVE_TOKEN', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mlp-data-'));
    const r = await runCli('mlpd', ['start', '--repo', copyExampleRepo(), '--data-dir', dataDir, '--port', '0', '--serve-port', '0'], {
      env: { MLP_SERVE_TOKEN: 'short' },
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /MLP_SERVE_TOKEN: the token is 5 characters; use at least 16/);
  });
});
