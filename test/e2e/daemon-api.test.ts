/**
 * The daemon from outside: the ready line, health, `mlp status`, token auth at the upgrade, roles,
 * malformed frames and the audit trail, against a real `mlpd start` process and its SQLite file.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { copyExampleRepo } from '../helpers/repo.js';

/** Sends an upgrade request by hand and returns the HTTP status and body the daemon answered with. */
function rawUpgrade(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url.replace('ws:', 'http:'));
  return new Promise((resolve, reject) => {
    const req = request({
      hostname,
      port,
      path: '/',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

/** An open API connection that collects every frame it receives. */
async function openSocket(url: string, token: string) {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const frames: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    frames.push(JSON.parse(d.toString()) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = async (pred: (f: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = frames.find(pred);
      if (found) {
        frames.splice(frames.indexOf(found), 1);
        return found;
      }
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching frame; got ${JSON.stringify(frames)}`)), 5000);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  return { ws, next };
}

function auditRows(dataDir: string) {
  const db = new Database(join(dataDir, 'mlp.db'), { readonly: true });
  try {
    return db.prepare('SELECT actor, role, command, target, outcome, message FROM audit ORDER BY id').all() as {
      actor: string;
      role: string;
      command: string;
      target: string;
      outcome: string;
      message: string;
    }[];
  } finally {
    db.close();
  }
}

describe('mlpd start and its API', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon({ repo: copyExampleRepo() });
  });
  after(async () => {
    await d?.stop();
  });

  it('prints the ready line, answers /healthz and writes an operator token file with mode 600', async () => {
    assert.match(d.apiUrl, /^ws:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(d.apiUrl.replace('ws:', 'http:') + '/healthz');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
    assert.equal(statSync(join(d.dataDir, 'token')).mode & 0o777, 0o600);
    assert.match(d.operatorToken, /^mlp_/);
  });

  it('mlp status --json lists the repo pipelines with groups from the warehouse', async () => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout) as { pipelines: { name: string; groups: string[]; current: unknown; rollout: unknown }[] };
    assert.equal(status.pipelines.length, 1);
    const [p] = status.pipelines;
    assert.equal(p!.name, 'demand-forecast');
    assert.deepEqual(p!.groups, ['berlin', 'london', 'paris']);
    assert.equal(p!.current, null);
    assert.equal(p!.rollout, null);
  });

  it('mlp status prints a readable table', async () => {
    const r = await runCli('mlp', ['status'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    const [header, row] = r.stdout.split('\n');
    assert.match(header!, /^PIPELINE\s+GROUPS\s+CURRENT\s+ROLLOUT\s+CANDIDATE\s+LAST RUN/);
    assert.match(row!, /^demand-forecast\s+berlin, london, paris\s+-\s+-/);
  });

  it('refuses an upgrade without a token, or with a wrong one, with 401 before any data', async () => {
    const none = await rawUpgrade(d.apiUrl, {});
    assert.equal(none.status, 401);
    assert.match(none.body, /missing bearer token/);
    const wrong = await rawUpgrade(d.apiUrl, { authorization: 'Bearer mlp_not-a-real-token' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /token rejected: unknown or revoked token/);
    const good = await rawUpgrade(d.apiUrl, { authorization: `Bearer ${d.operatorToken}` });
    assert.equal(good.status, 101);
  });

  it('tells a client with a bad token that the token was rejected (exit 3)', async () => {
    const r = await runCli('mlp', ['status'], { env: d.clientEnv('mlp_wrong') });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /token rejected/);
  });

  it('tells a client that cannot reach mlpd what to do (exit 3)', async () => {
    const r = await runCli('mlp', ['status'], { env: { MLP_URL: 'ws://127.0.0.1:1', MLP_TOKEN: 'x' } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /cannot reach mlpd at ws:\/\/127\.0\.0\.1:1: .*is `mlpd start` running\?/);
  });

  it('answers a malformed frame with an error frame and keeps the connection usable', async () => {
    const { ws, next } = await openSocket(d.apiUrl, d.operatorToken);
    assert.equal((await next((f) => f.type === 'hello')).protocol, 2);
    await next((f) => f.type === 'snapshot');

    ws.send('this is not json');
    const notJson = await next((f) => f.type === 'error');
    assert.equal(notJson.code, 'bad_request');
    assert.match(String(notJson.message), /not JSON/);

    ws.send(JSON.stringify({ type: 'launch-missiles', id: 'a1' }));
    const unknown = await next((f) => f.type === 'error');
    assert.equal(unknown.id, 'a1');
    assert.match(String(unknown.message), /type/);

    ws.send(JSON.stringify({ type: 'command', id: 'a2', command: 'promote' }));
    const missing = await next((f) => f.type === 'error');
    assert.match(String(missing.message), /pipeline/);

    ws.send(JSON.stringify({ type: 'ping', id: 'x'.repeat(10), pad: 'y'.repeat(70 * 1024) }));
    assert.match(String((await next((f) => f.type === 'error')).message), /too large/);

    ws.send(JSON.stringify({ type: 'ping', id: 'still-there' }));
    assert.deepEqual(await next((f) => f.type === 'pong'), { type: 'pong', id: 'still-there' });
    ws.close();
  });

  it('sends summaries on connect, a full view on subscribe, then a fleet delta to all and the full view to subscribers; log lines to followers', async () => {
    const { ws, next } = await openSocket(d.apiUrl, d.operatorToken);
    const snap = await next((f) => f.type === 'snapshot');
    const summary = (snap.pipelines as Record<string, unknown>[])[0]!;
    assert.equal(summary.name, 'demand-forecast');
    assert.equal(summary.groups, 3, 'a summary counts the groups');
    assert.equal(summary.runs, undefined, 'and carries no runs, variants or history');

    ws.send(JSON.stringify({ type: 'subscribe', id: 's1', pipeline: 'demand-forecast' }));
    const detail = await next((f) => f.type === 'detail');
    assert.equal(detail.id, 's1');
    const view = detail.pipeline as { name: string; groups: string[]; schedule: string; runs: unknown[]; performance: unknown };
    assert.deepEqual(view.groups, ['berlin', 'london', 'paris']);
    assert.equal(view.schedule, '0 2 * * 1');
    assert.ok(Array.isArray(view.runs) && view.performance, 'the full view');
    ws.send(JSON.stringify({ type: 'subscribe', id: 's2', pipeline: 'nope' }));
    const unknown = await next((f) => f.type === 'error' && f.id === 's2');
    assert.equal(unknown.code, 'not_found');
    assert.match(String(unknown.message), /no pipeline named 'nope'/);

    ws.send(JSON.stringify({ type: 'tail', id: 't1', pipeline: 'demand-forecast', follow: true }));
    const stored = await next((f) => f.type === 'logs');
    assert.equal(stored.id, 't1');
    assert.match(JSON.stringify(stored.lines), /loaded demand-forecast\/pipeline\.yaml/);
    const file = join(d.repo, 'demand-forecast/pipeline.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"0 2 * * 1"', '"0 5 * * *"'));
    const fleet = await next((f) => f.type === 'event' && (f.event as { kind: string }).kind === 'fleet');
    assert.deepEqual(
      (fleet.event as { pipelines: { name: string }[] }).pipelines.map((p) => p.name),
      ['demand-forecast'],
    );
    const updated = await next((f) => f.type === 'event' && (f.event as { kind: string }).kind === 'pipeline_updated');
    const pipeline = (updated.event as { pipeline: { name: string; schedule: string; groups: string[] } }).pipeline;
    assert.equal(pipeline.name, 'demand-forecast');
    assert.equal(pipeline.schedule, '0 5 * * *');
    assert.deepEqual(pipeline.groups, ['berlin', 'london', 'paris']);
    const log = await next((f) => f.type === 'event' && (f.event as { kind: string }).kind === 'log');
    assert.match(String((log.event as { line: string }).line), /reloaded demand-forecast\/pipeline\.yaml/);
    ws.close();
  });

  it('answers status with full: every pipeline in full, as mlp status --json prints it', async () => {
    const { ws, next } = await openSocket(d.apiUrl, d.operatorToken);
    await next((f) => f.type === 'snapshot');
    ws.send(JSON.stringify({ type: 'status', id: 'f1', full: true }));
    const full = await next((f) => f.type === 'full_snapshot');
    assert.equal(full.id, 'f1');
    const [p] = full.pipelines as { name: string; groups: string[]; runs: unknown[] }[];
    assert.deepEqual(p!.groups, ['berlin', 'london', 'paris']);
    const printed = JSON.parse((await runCli('mlp', ['status', '--json'], { env: d.clientEnv() })).stdout) as {
      pipelines: { name: string; groups: string[] }[];
    };
    assert.deepEqual(
      printed.pipelines.map((x) => [x.name, x.groups]),
      [['demand-forecast', ['berlin', 'london', 'paris']]],
    );
    ws.close();
  });

  it('lets a viewer read but not operate, and audits both attempts with the token name', async () => {
    const created = await runCli('mlpd', ['token', 'create', '--role', 'viewer', '--name', 'dashboard', '--data-dir', d.dataDir]);
    assert.equal(created.code, 0, created.stderr);
    const viewerToken = created.stdout.trim();

    const read = await runCli('mlp', ['status', '--json'], { env: d.clientEnv(viewerToken) });
    assert.equal(read.code, 0, read.stderr);

    const denied = await runCli('mlp', ['promote', 'demand-forecast'], { env: d.clientEnv(viewerToken) });
    assert.equal(denied.code, 3);
    assert.match(denied.stderr, /viewer role and may not promote/);

    const operator = await runCli('mlp', ['pause', 'demand-forecast'], { env: d.clientEnv() });
    assert.equal(operator.code, 1);
    assert.match(operator.stderr, /demand-forecast has no active rollout to pause/);

    const rows = auditRows(d.dataDir);
    assert.deepEqual(
      rows.map((r) => [r.actor, r.role, r.command, r.target, r.outcome]),
      [
        ['dashboard', 'viewer', 'promote', 'demand-forecast', 'rejected'],
        ['operator', 'operator', 'pause', 'demand-forecast', 'rejected'],
      ],
    );
  });

  it('refuses a revoked token at once', async () => {
    const created = await runCli('mlpd', ['token', 'create', '--role', 'viewer', '--name', 'temp', '--data-dir', d.dataDir]);
    const token = created.stdout.trim();
    assert.equal((await runCli('mlp', ['status'], { env: d.clientEnv(token) })).code, 0);
    assert.equal((await runCli('mlpd', ['token', 'revoke', 'temp', '--data-dir', d.dataDir])).code, 0);
    const after = await runCli('mlp', ['status'], { env: d.clientEnv(token) });
    assert.equal(after.code, 3);
    assert.match(after.stderr, /token rejected/);
  });

  it('reports an unknown pipeline by name', async () => {
    const r = await runCli('mlp', ['promote', 'nope'], { env: d.clientEnv() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no pipeline named 'nope' \(known: demand-forecast\)/);
  });

  it('routes model traffic for known pipelines only', async () => {
    const unknown = await fetch(`${d.serveUrl}/endpoints/nope/invocations`, { method: 'POST', body: '{}' });
    assert.equal(unknown.status, 404);
    const noModel = await fetch(`${d.serveUrl}/endpoints/demand-forecast/groups/london/invocations`, { method: 'POST', body: '{}' });
    assert.equal(noModel.status, 503);
    assert.match(((await noModel.json()) as { error: string }).error, /no live model for demand-forecast\/london/);
  });

  it('stops cleanly on SIGTERM', async () => {
    const code = await d.stop('SIGTERM');
    assert.equal(code, 0);
    assert.match(d.stderr(), /SIGTERM: shutting down/);
    assert.match(d.stderr(), /stopped/);
  });
});
