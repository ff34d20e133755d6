import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockedByReplay, decision, latency, NOW, performance, pipeline, rollout, serving, shifting } from './fixtures.js';
import { KEY, renderTui } from './render.js';

const fleet = () => [
  pipeline('churn'),
  shifting('demand-forecast', 30),
  blockedByReplay('pricing'),
  pipeline('ads', { rollout: rollout({ phase: 'paused', pausedFrom: 'shifting' }) }),
];

test('the fleet shows what needs a person first, phases, versions, traffic and the candidate error rate', async () => {
  const t = renderTui(fleet());
  await t.settle();
  const lines = t.frame().split('\n');
  const order = ['pricing', 'ads', 'demand-forecast', 'churn'].map((n) => lines.findIndex((l) => l.includes(n)));
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    t.frame(),
  );
  assert.match(t.frame(), /4 pipelines · 2 need you · 2 rolling out/);
  const demand = lines.find((l) => l.includes('demand-forecast'))!;
  assert.match(demand, /shifting\s+v2→v3\s+[█▒]+\s+70\|30\s+1\.5%/);
  assert.match(
    lines.find((l) => l.includes('pricing'))!,
    /blocked/,
  );
  assert.match(t.frame(), /pricing: blocked: replay: 2 of 100/);
  t.unmount();
});

test('the header counts in the singular too: 1 pipeline, 1 needs you', async () => {
  const t = renderTui([blockedByReplay('pricing')]);
  await t.settle();
  assert.match(t.frame(), /mlp · 1 pipeline · 1 needs you · 0 rolling out/);
  t.unmount();
});

test('the threshold shows when a decision carries it, and the rate turns red above it', async () => {
  const p = shifting('demand-forecast', 30, 30);
  p.rollout!.decisions.push(decision({ at: NOW, rule: 'error_rate', observed: 0.15, threshold: 0.05, verdict: 'rollback' }));
  const t = renderTui([p]);
  await t.settle();
  assert.match(t.frame(), /15% \/ 5\.0%/);
  t.unmount();
});

test('NEXT: when the next traffic step is due and the share after it, "promote" for the last one, "paused" when paused', async () => {
  const last = shifting('last-step', 80);
  last.rollout!.nextStep = { at: NOW + 45_000, weight: 100 };
  const t = renderTui([...fleet(), last]);
  await t.settle();
  const row = (name: string) =>
    t
      .frame()
      .split('\n')
      .find((l) => l.includes(name))!;
  assert.match(row('demand-forecast'), /1\.5%\s+in 2m → 30%$/, 'nextStep.at is 120 s after the fleet clock');
  assert.match(row('last-step'), / 45s → promote$/, 'too wide with "in": the time and the target stay');
  assert.match(row('ads'), /paused$/);
  assert.match(row('churn'), /-\s+-$/);
  assert.match(t.frame(), /CAND ERR\s+NEXT$/m);
  // The countdown follows the daemon's clock, which metrics and history ticks move.
  t.store.dispatch({ type: 'event', event: { kind: 'history', at: NOW + 60_000, intervalMs: 5_000, pipelines: [] } });
  await t.settle();
  assert.match(row('demand-forecast'), /in 1m → 30%$/);
  assert.match(row('last-step'), /due → promote$/);
  t.unmount();
});

test('wider terminals add p50/p99 latency, the serving cost per month and the last run', async () => {
  const demand = shifting('demand-forecast', 30);
  demand.performance = performance({ latency: latency({ p50Ms: 3, p99Ms: 12 }), serving });
  const slow = pipeline('slow', { performance: performance({ latency: latency({ p50Ms: 45.2, p99Ms: 1520 }) }) });
  const t = renderTui([demand, slow, pipeline('churn')], { columns: 140 });
  await t.settle();
  const row = (name: string) =>
    t
      .frame()
      .split('\n')
      .find((l) => l.includes(name))!;
  assert.match(t.frame(), /NEXT\s+P50\/P99\s+SERVING\s+LAST RUN$/m);
  assert.match(
    row('demand-forecast'),
    /in 2m → 30%\s+3\/12ms\s+\$166\/mo\s+-$/,
    `2 × $0.115/h for 30 days is $165.60: ${row('demand-forecast')}`,
  );
  assert.match(row('slow'), /\s45ms\/1\.5s\s+-\s+-$/);
  assert.match(row('churn'), /-\s+-\s+-\s+-$/, 'no traffic, nothing live: dashes');
  t.unmount();
  // At 80 columns the least useful columns give way.
  const narrow = renderTui([demand], { columns: 80 });
  await narrow.settle();
  assert.doesNotMatch(narrow.frame(), /P50\/P99|SERVING|LAST RUN|3\/12ms/);
  assert.match(narrow.frame(), /VERSIONS.*NEXT/);
  narrow.unmount();
});

test('every line fits in 80 columns and the frame in 24 rows, even with 200 pipelines', async () => {
  const many = Array.from({ length: 200 }, (_, i) => shifting(`${String(i).padStart(3, '0')}-pipeline-with-a-rather-long-name`, i % 100));
  const t = renderTui(many, { columns: 80, rows: 24 });
  await t.settle();
  const lines = t.frame().split('\n');
  assert.ok(lines.length <= 24, `${lines.length} lines`);
  for (const l of lines) assert.ok(l.length <= 80, `too wide (${l.length}): ${l}`);
  assert.match(t.frame(), /1-18 of 200/);
  await t.press(...Array(25).fill('j'));
  assert.match(t.frame(), /› 025-pipeline/);
  assert.match(t.frame(), /9-26 of 200/);
  t.unmount();
});

test('at any width from 60 to 200 columns no line is wider than the terminal', async () => {
  const p = shifting('a-pipeline-with-a-rather-long-name-indeed', 30);
  p.performance = performance({ latency: latency({ p50Ms: 450, p99Ms: 12_500 }), serving: { ...serving, estimatedUsdPer30Days: 123_456 } });
  p.runs = [
    {
      id: 'r1',
      pipeline: p.name,
      trigger: 'cron',
      status: 'succeeded',
      reason: null,
      scheduledFor: null,
      createdAt: NOW - 7_200_000,
      startedAt: NOW - 7_200_000,
      finishedAt: NOW - 3_600_000,
      gitCommit: null,
      steps: [],
    },
  ];
  p.rollout!.nextStep = { at: NOW + 11 * 3_600_000, weight: 100 };
  for (const columns of [60, 72, 80, 81, 90, 100, 101, 120, 140, 200]) {
    const t = renderTui([p, blockedByReplay('pricing')], { columns });
    await t.settle();
    for (const l of t.frame().split('\n')) assert.ok(l.length <= columns, `${columns} columns, a line of ${l.length}: ${l}`);
    t.unmount();
  }
});

test('↑/↓ and j/k move the selection; / filters as you type; esc clears it', async () => {
  const t = renderTui(fleet());
  await t.press('j', KEY.down);
  assert.match(t.frame(), /› demand-forecast/);
  await t.press('k');
  assert.match(t.frame(), /› ads/);
  await t.press('/', 'c', 'h');
  assert.match(t.frame(), /\/ch▏/);
  assert.doesNotMatch(t.frame(), /pricing/);
  assert.match(t.frame(), /churn/);
  await t.press(KEY.enter);
  assert.match(t.frame(), /› churn/);
  assert.match(t.frame(), /\/ch$/m);
  await t.press(KEY.esc);
  assert.match(t.frame(), /pricing/);
  t.unmount();
});

test('? shows the help from the key table; q quits', async () => {
  const t = renderTui(fleet());
  await t.press('?');
  assert.match(t.frame(), /space\s+pause the rollout where it is/);
  await t.press('?', 'q');
  assert.equal(t.quitted(), true);
  t.unmount();
});

test('a database that refuses writes is said at the top of the fleet, and the line goes when it recovers', async () => {
  const t = renderTui(fleet());
  await t.settle();
  t.store.dispatch({
    type: 'event',
    event: { kind: 'storage', storage: { error: 'database or disk is full', since: NOW, failedWrites: 3, pendingWrites: 1 } },
  });
  await t.settle();
  const lines = t.frame().split('\n');
  assert.match(lines[1]!, /^storage: database or disk is full since \d\d:\d\d:\d\d: the daemon's database refuses/);
  assert.ok(lines.length <= 24 && lines.every((l) => l.length <= 80), t.frame());
  t.store.dispatch({ type: 'event', event: { kind: 'storage', storage: null } });
  await t.settle();
  assert.doesNotMatch(t.frame(), /storage:/);
  t.unmount();
});

test('a fractional share shows whole numbers that add up in the bar, and exactly in the pipeline view', async () => {
  const t = renderTui([shifting('demand-forecast', 12.5)]);
  await t.settle();
  assert.match(
    t
      .frame()
      .split('\n')
      .find((l) => l.includes('demand-forecast'))!,
    / 87\|13 /,
  );
  await t.press(KEY.enter);
  assert.match(t.frame(), /at 12\.5%/);
  t.unmount();
});

test('a phase too long for its column reads whole in fewer letters, in the pipeline view in full', async () => {
  const t = renderTui([pipeline('demand-forecast', { rollout: rollout({ phase: 'integration_testing' }) })]);
  await t.settle();
  assert.match(
    t
      .frame()
      .split('\n')
      .find((l) => l.includes('demand-forecast'))!,
    /demand-forecast\s+testing\s/,
  );
  assert.doesNotMatch(t.frame(), /integration t\b/);
  t.stdin.write(KEY.enter);
  await t.settle();
  assert.match(t.frame(), /demand-forecast integration testing/);
  t.unmount();
});

test('the header shows the servers and runs against their limits, live; a queued run shows its place', async () => {
  const queuedRun = (id: string, pipeline: string) => ({
    id,
    pipeline,
    trigger: 'cron' as const,
    status: 'queued' as const,
    reason: null,
    scheduledFor: null,
    createdAt: NOW - 60_000,
    startedAt: null,
    finishedAt: null,
    gitCommit: null,
    steps: [],
  });
  const churn = pipeline('churn', { runs: [queuedRun('r-2', 'churn')] });
  const ads = pipeline('ads', { runs: [queuedRun('r-1', 'ads')] });
  const t = renderTui([churn, ads], { columns: 160 });
  const capacity = (live: number) => ({
    servers: { total: 1000, live, starting: 8, waiting: 1000 - live - 8, failed: 0, draining: 0, max: 1200 },
    runs: { running: 2, max: 2, runningCloud: 0, maxCloud: 10, queued: ['r-1', 'r-2'] },
  });
  t.store.dispatch({ type: 'event', event: { kind: 'capacity', capacity: capacity(412) } });
  await t.settle();
  assert.match(t.frame(), /2 pipelines · 0 need you · 0 rolling out · servers 412\/1,000 budget 1,000\/1,200 · runs 2\/2, 2 queued/);
  const row = (name: string) =>
    t
      .frame()
      .split('\n')
      .find((l) => l.includes(name))!;
  assert.match(row('ads'), /queued #1 1m ago$/);
  assert.match(row('churn'), /queued #2 1m ago$/);
  t.store.dispatch({ type: 'event', event: { kind: 'capacity', capacity: capacity(992) } });
  await t.settle();
  assert.match(t.frame(), /servers 992\/1,000/);
  t.unmount();
});
