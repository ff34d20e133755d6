import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { formatStatus, status } from '../../tui/commands/status.js';
import {
  blockedByOldReplay,
  blockedByReplay,
  cloudTraining,
  fullSnapshot,
  history,
  latency,
  performance,
  pipeline,
  roleSample,
  rollout,
  serving,
  shifting,
  snapshot,
  variant,
} from './fixtures.js';

const fleet = () => {
  const demand = shifting('demand', 20);
  demand.performance = performance({
    latency: latency({ p50Ms: 3, p99Ms: 12 }),
    serving,
    training: cloudTraining,
    history: history(2, () => ({ current: roleSample(10, 0), candidate: null })),
  });
  return [demand, pipeline('churn'), pipeline('ads', { rollout: rollout({ phase: 'paused', pausedFrom: 'shifting', nextStep: null }) })];
};

test('mlp status: the next step, p50/p99 latency and the serving cost per pipeline, with the price table once', () => {
  const out = formatStatus(fullSnapshot(fleet()));
  const lines = out.split('\n');
  assert.match(
    lines[0]!,
    /^PIPELINE\s+GROUPS\s+CURRENT\s+ROLLOUT\s+CANDIDATE\s+LAST RUN\s+NEXT STEP\s+P50\/P99\s+COST\s+SCHEDULE\s+CONFIG$/,
  );
  assert.match(
    lines.find((l) => l.startsWith('demand'))!,
    /shifting\s+v3 20%\s+-\s+in 2m → 30%\s+3\/12ms\s+\$166\/mo\s+0 3 \* \* \*/,
  );
  assert.match(
    lines.find((l) => l.startsWith('churn'))!,
    /-\s+-\s+-\s+-\s+0 3 \* \* \*/,
  );
  assert.match(
    lines.find((l) => l.startsWith('ads'))!,
    /paused\s+-\s+-\s+0 3/,
  );
  assert.equal(lines.filter((l) => l.startsWith('COST:')).length, 1);
  assert.match(
    out,
    /^COST: estimated cost of the live model servers per 30 days at SageMaker prices \(us-east-1 list prices of 2026-11-01; docs\/costs\.md\)$/m,
  );
  assert.match(out, /^demand: rollout #1 v2 → v3: shifting at 20%, next step in 2m → 30%$/m);
});

test('mlp status counts in the singular too: 1 restart, 1 request', () => {
  const p = pipeline('churn', {
    variants: [variant({ state: 'starting', restarts: 1 })],
    rollout: rollout({
      phase: 'replaying',
      candidateWeight: 0,
      replayProgress: [
        { group: 'london', done: 0, total: 1 },
        { group: 'paris', done: 2, total: 2 },
      ],
    }),
  });
  const out = formatStatus(fullSnapshot([p]));
  assert.match(out, /starting \(1 restart\)/);
  assert.match(out, /^ {2}… replaying london: 0 of 1 request$/m);
  assert.match(out, /^ {2}… replaying paris: 2 of 2 requests$/m);
});

test('mlp status says a rollout at 100% is promoting, in place of the reason it will end with', () => {
  const promoting = rollout({
    phase: 'shifting',
    candidateWeight: 100,
    nextStep: null,
    reason: 'promoted after the gradual shift',
    message:
      'promoting: the candidates take all traffic and become current, the versions before them drain and stop (promoted after the gradual shift)',
  });
  const out = formatStatus(fullSnapshot([pipeline('churn', { rollout: promoting })]));
  assert.match(
    out,
    /^churn: rollout #1 v2 → v3: shifting at 100% — promoting: the candidates take all traffic .* \(promoted after the gradual shift\)$/m,
  );
});

test('mlp status: no price line when nothing has a cost figure', () => {
  assert.doesNotMatch(formatStatus(fullSnapshot([pipeline('churn')])), /COST:/);
});

test('mlp status --json asks for the full views and prints them as the daemon sent them, performance and next step included', async (t) => {
  const sent = fullSnapshot(fleet());
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  t.after(() => wss.close());
  wss.on('connection', (ws) => {
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        daemon: { version: '0.1.0', startedAt: 0, serveUrl: 'http://x' },
        session: { token: 't', role: 'viewer' },
      }),
    );
    ws.send(JSON.stringify(snapshot(fleet())));
    // The connect snapshot has summaries only: status asks for the full views.
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; id: string; full?: boolean };
      if (msg.type === 'status' && msg.full) ws.send(JSON.stringify({ ...sent, id: msg.id }));
    });
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  const printed: string[] = [];
  const log = console.log;
  const env = { MLP_URL: process.env.MLP_URL, MLP_TOKEN: process.env.MLP_TOKEN };
  process.env.MLP_URL = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  process.env.MLP_TOKEN = 't';
  console.log = (s: string) => void printed.push(s);
  try {
    assert.equal(await status({ json: true }), 0);
  } finally {
    console.log = log;
    for (const [k, v] of Object.entries(env))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
  assert.deepEqual(JSON.parse(printed.join('\n')), { repo: sent.repo, storage: null, capacity: null, pipelines: sent.pipelines });
});

test('mlp status: a rollout blocked by replay shows its gates and the first failing requests of each group', () => {
  const out = formatStatus(fullSnapshot([blockedByReplay('pricing')]));
  assert.match(out, /^ {2}✔ data checks: 3 suites passed$/m);
  assert.match(out, /^ {2}- integration tests: not configured$/m);
  assert.match(out, /^ {2}✖ replay: 2 regressions in london$/m);
  assert.match(out, /^ {6}london: \{"x":7\} → current 200, candidate 500 \{"error":"cannot score x=7"\}$/m);
  assert.match(out, /^ {6}london: \{"x":9\} → current 200, candidate timeout after 30000 ms$/m);
});

test('mlp status: a report stored by an older mlpd is said to be unreadable, the rest of the rollout shown', () => {
  const out = formatStatus(fullSnapshot([blockedByOldReplay('pricing')]));
  assert.match(out, /^ {2}✖ replay: 2 regressions in london$/m);
  assert.match(out, /^ {4}replay report not readable \(london\.requested: .*\); mlp status --json shows it as stored$/m);
  assert.doesNotMatch(out, /→ current/);
  assert.match(out, /replaying block: 2 of 100 requests/);
});
