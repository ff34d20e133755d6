import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineView } from '../../shared/protocol.js';
import {
  blockedByDataChecks,
  cloudTraining,
  decision,
  history,
  latency,
  NOW,
  performance,
  roleSample,
  serving,
  shifting,
} from './fixtures.js';
import { KEY, renderTui } from './render.js';

/** Shifting at 20% with a minute of traffic, a SageMaker training run, two model servers, and many decisions. */
function performing(name = 'demand'): PipelineView {
  const p = shifting(name, 20);
  p.performance = performance({
    latency: latency({ requests: 1_250, errors: 5, errorRate: 0.004, p50Ms: 3.2, p99Ms: 41 }),
    history: history(60, (i) => ({ current: roleSample(100, 0, 10), candidate: i < 30 ? null : roleSample(25, i % 2, 12) })),
    training: cloudTraining,
    serving,
  });
  p.rollout!.decisions = Array.from({ length: 12 }, (_, i) => decision({ at: NOW - 60_000 + i * 1000, reason: `decision ${i}` }));
  return p;
}

const open = async (pipelines: PipelineView[], size: { columns?: number; rows?: number } = {}) => {
  const t = renderTui(pipelines, size);
  await t.press(KEY.enter);
  return t;
};

const fitsIn = (frame: string, columns: number, rows: number) => {
  const lines = frame.split('\n');
  assert.ok(lines.length <= rows, `${lines.length} lines:\n${frame}`);
  for (const l of lines) assert.ok(l.length <= columns, `a line of ${l.length}: ${l}`);
};

test('the header says when the next traffic step is due and the share after it', async () => {
  const t = await open([performing()]);
  assert.match(t.frame(), /^demand shifting v2 → v3 at 20% · next step in 2m → 30%/);
  t.unmount();
});

test('performance and cost: latency and errors of the last minute, the last training run, serving, the price table', async () => {
  const p = performing();
  const { latency: l, training: tr, serving: sv, prices } = p.performance;
  const t = await open([p], { columns: 100, rows: 40 });
  const f = t.frame();
  assert.match(
    f,
    new RegExp(
      `^last 1m +p50 ${l!.p50Ms}ms · p99 ${l!.p99Ms}ms · ${(l!.errorRate * 100).toFixed(1)}% errors of 1,250 requests · graphs: last 5m$`,
      'm',
    ),
  );
  const hours = `${tr!.instanceHours} instance-hour${tr!.instanceHours === 1 ? '' : 's'}`;
  assert.match(f, /training +last run 34m, 1h2m compute, on SageMaker/);
  assert.ok(f.includes(`≈ $${tr!.estimatedUsd!.toFixed(2)} on ${tr!.instanceType} (${hours})`), f);
  const perHour = sv!.usdPerHour!.toFixed(2);
  assert.ok(
    f.includes(
      `serving  ${sv!.instances} instances × ${sv!.instanceType} ≈ $${perHour}/hour, $${Math.round(sv!.estimatedUsdPer30Days!)} per 30 days (runs locally)`,
    ),
    f,
  );
  assert.ok(f.includes(`prices   ${prices.region} list prices of ${prices.asOf}: estimates (docs/costs.md)`), f);
  t.unmount();
});

test('a run that trained here says so, with what it would cost on SageMaker; prices from mlp.yaml say so', async () => {
  const p = performing();
  p.performance.training = { ...cloudTraining, executor: 'docker', instanceHours: 2.5, estimatedUsd: 0.575 };
  p.performance.prices = { asOf: '2026-10-01', region: 'eu-west-1', source: 'mlp.yaml' };
  const t = await open([p], { columns: 100, rows: 40 });
  assert.match(t.frame(), /training +last run 34m, 1h2m compute, ran locally in Docker/);
  assert.match(t.frame(), /would cost ≈ \$0\.57 on SageMaker ml\.m5\.xlarge \(2\.5 instance-hours\)/);
  assert.match(t.frame(), /prices +eu-west-1 prices of 2026-10-01 from mlp\.yaml/);
  t.unmount();
});

test('without traffic, training or a live server, the block says so', async () => {
  const t = await open([shifting('quiet')], { columns: 100, rows: 40 });
  assert.match(t.frame(), /^last 1m +no traffic$/m);
  assert.match(t.frame(), /training +no training run has succeeded yet/);
  assert.match(t.frame(), /serving +no model server live/);
  assert.doesNotMatch(t.frame(), /cand err|curr p99/, 'no history, no sparklines');
  t.unmount();
});

test('sparklines: candidate and current error rates and p99s from the history, newest right, gaps where nothing was served', async () => {
  const p = shifting('demand', 20);
  // Rates 0%, 2%, 4%, 8% of 100 requests, then an interval without candidate traffic; the rollback threshold is 4%.
  const candidate = [null, roleSample(100, 0, 10), roleSample(100, 2, 20), roleSample(100, 4, 30), roleSample(100, 8, 40), null];
  p.performance = performance({ history: history(6, (i) => ({ current: roleSample(100, 0, 20), candidate: candidate[i]! })) });
  p.rollout!.decisions.push(decision({ rule: 'error_rate', observed: 0.08, threshold: 0.04, verdict: 'hold' }));
  const t = await open([p], { columns: 100, rows: 40 });
  const row = (label: string) =>
    t
      .frame()
      .split('\n')
      .find((l) => l.startsWith(label)) ?? '';
  // Both roles' error rates share a scale up to the largest of the threshold and the values (8% here).
  assert.match(row('cand err'), /^cand err +▁▃▅█ {2}8\.0%$/, row('cand err'));
  assert.match(row('curr err'), /^curr err +▁{6} 0\.0%$/, row('curr err'));
  assert.equal(row('cand err').length, row('curr err').length, 'sparklines are one width, the newest point on the right');
  // p99s 10-40 ms against the current's steady 20 ms, on one scale up to 40 ms.
  assert.match(row('cand p99'), /^cand p99 +▃▅▆█ {2}40ms$/, row('cand p99'));
  assert.match(row('curr p99'), /^curr p99 +▅{6} 20ms$/, row('curr p99'));
  t.unmount();
});

test('sparklines keep time: quiet intervals (no point from the daemon) are gaps, and a pipeline gone quiet slides left', async () => {
  const p = shifting('demand', 20);
  // Three points: 20 s of quiet between the first two, then 5 s.
  p.performance = performance({
    history: {
      intervalMs: 5_000,
      points: [
        { at: NOW - 25_000, current: roleSample(100, 0, 10), candidate: null },
        { at: NOW - 5_000, current: roleSample(100, 0, 20), candidate: null },
        { at: NOW, current: roleSample(100, 0, 40), candidate: null },
      ],
    },
  });
  const t = await open([p], { columns: 100, rows: 40 });
  const row = () =>
    t
      .frame()
      .split('\n')
      .find((l) => l.startsWith('curr p99')) ?? '';
  assert.match(row(), /^curr p99 +▃ {3}▅█ 40ms$/, row());
  // A minute later by the daemon's clock, with no new point: eleven quiet intervals on the right (one of grace).
  t.store.dispatch({ type: 'event', event: { kind: 'history', at: NOW + 60_000, intervalMs: 5_000, pipelines: [] } });
  await t.settle();
  assert.match(row(), /^curr p99 +▃ {3}▅█ {11} 40ms$/, row());
  t.unmount();
});

test('a pipeline whose candidate never served has only the current sparklines', async () => {
  const p = shifting('demand', 0);
  p.performance = performance({ history: history(3, () => ({ current: roleSample(10, 1, 5), candidate: null })) });
  const t = await open([p], { columns: 100, rows: 40 });
  assert.match(t.frame(), /^curr err /m);
  assert.match(t.frame(), /^curr p99 /m);
  assert.doesNotMatch(t.frame(), /^cand (err|p99)/m);
  t.unmount();
});

test('80x24: the performance block fits by shrinking the decisions first', async () => {
  const t = await open([performing()], { columns: 80, rows: 24 });
  const f = t.frame();
  fitsIn(f, 80, 24);
  for (const part of [/^last 1m /m, /^cand err /m, /^curr err /m, /^cand p99 /m, /^curr p99 /m, /^training /m, /^serving /m, /^prices /m])
    assert.match(f, part);
  assert.match(f, /decisions \(last \d of 12\)/, 'the timeline gave way');
  assert.match(f, /decision 11$/m, 'the newest decision still shows');
  t.unmount();
});

test('80x24 with failing data checks, a reason line, four groups and the whole performance block still fits', async () => {
  const p = blockedByDataChecks('orders');
  p.groups = ['berlin', 'london', 'paris', 'rome', 'oslo'];
  p.performance = performing().performance;
  p.rollout!.decisions = performing().rollout!.decisions;
  const t = await open([p], { columns: 80, rows: 24 });
  fitsIn(t.frame(), 80, 24);
  assert.match(t.frame(), /expect_column_values_to_be_between \(demand\)/);
  assert.match(t.frame(), /^last 1m /m);
  t.unmount();
});
