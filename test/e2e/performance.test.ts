/**
 * Performance and cost in `mlp status --json` and over the API, against a real daemon: after a deploy
 * and traffic through the router, the pooled latency, the last run priced as SageMaker training, the
 * model servers priced as hosting instances, a `history` event with the interval's traffic; while a
 * rollout shifts, when its next step is due and where it takes the weight.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { GATED_IT_PY, GATED_SERVE_PY, GATED_TRAIN_PY } from '../helpers/gated-pipeline.js';
import { pipelineRepo } from '../helpers/pipelines.js';

// With --time-scale 60, a step of the shift is 10 s: long enough to look at, and promote ends it.
const PIPELINE = `pipeline:
  name: shop
  groups:
    generate: true
    source: warehouse.cities
  training:
    instance_type: ml.c5.xlarge
  serve:
    instance_type: ml.c5.large
  deployment:
    integration_tests: python3 it.py
    rollout:
      initial_traffic: 0
      step_percent: 20
      step_interval_minutes: 10
    replay:
      requests: 50
`;
/** The built-in list prices of those types (docs/costs.md). */
const TRAINING_C5_XLARGE = 0.204;
const HOSTING_C5_LARGE = 0.102;

interface Performance {
  latency: { requests: number; errors: number; errorRate: number; p50Ms: number | null; p99Ms: number | null; windowMs: number } | null;
  history: { intervalMs: number; points: { at: number; current: { requests: number } | null; candidate: { requests: number } | null }[] };
  training: {
    runId: string;
    executor: string;
    instanceType: string;
    instanceHours: number;
    usdPerHour: number | null;
    estimatedUsd: number | null;
    durationMs: number;
    computeMs: number;
  } | null;
  serving: {
    backend: string;
    instanceType: string;
    instances: number;
    usdPerHour: number | null;
    estimatedUsdPer30Days: number | null;
  } | null;
  prices: { asOf: string; region: string; source: string };
}
interface PipelineJson {
  rollout: { id: number; phase: string; candidateWeight: number; nextStep: { at: number; weight: number } | null } | null;
  runs: { id: string; status: string }[];
  variants: { state: string }[];
  performance: Performance;
}

const close = (actual: number | null | undefined, expected: number, what: string) =>
  assert.ok(
    typeof actual === 'number' && Math.abs(actual - expected) <= 1e-9 * Math.max(1, expected),
    `${what}: ${actual} is not ${expected}`,
  );

describe('performance and cost', () => {
  let d: TestDaemon;
  let ws: WebSocket;
  const frames: { type: string; event?: { kind: string; [k: string]: unknown } }[] = [];

  const status = async (): Promise<PipelineJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
  };
  const invoke = (group: string, x: number) =>
    fetch(`${d.serveUrl}/endpoints/shop/groups/${group}/invocations`, {
      method: 'POST',
      body: JSON.stringify({ x }),
      headers: { 'content-type': 'application/json' },
    });
  const deploy = async (phases: string[]) => {
    const before = (await status()).rollout?.id ?? 0;
    const r = await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return eventually(
      async () => {
        const p = await status();
        return p.rollout && p.rollout.id !== before && phases.includes(p.rollout.phase) ? p : undefined;
      },
      60_000,
      `the rollout to reach ${phases.join(' or ')}`,
    );
  };

  before(async () => {
    const repo = pipelineRepo({
      pipelineYaml: PIPELINE,
      extra: { 'forecast/train.py': GATED_TRAIN_PY, 'forecast/serve.py': GATED_SERVE_PY, 'forecast/it.py': GATED_IT_PY },
    });
    writeFileSync(join(repo, 'forecast/behaviour.json'), '{}');
    d = await startTestDaemon({ repo, args: ['--time-scale', '60'] });
    ws = new WebSocket(d.apiUrl, { headers: { authorization: `Bearer ${d.operatorToken}` } });
    ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    // History events go to the clients subscribed to the pipeline.
    ws.send(JSON.stringify({ type: 'subscribe', id: 's1', pipeline: 'shop' }));
  });
  after(async () => {
    ws?.close();
    await d?.stop();
  });

  it('shows nothing to measure or price before the first run', async () => {
    const { performance } = await status();
    assert.equal(performance.latency, null);
    assert.deepEqual(performance.history, { intervalMs: 5000, points: [] });
    assert.equal(performance.training, null);
    assert.equal(performance.serving, null);
    assert.deepEqual(performance.prices, { asOf: '2026-11-01', region: 'us-east-1', source: 'built-in' });
  });

  it('after a deploy and traffic: pooled latency, the run priced as training, the servers as hosting, and a history event', async () => {
    const deployed = await deploy(['promoted']);
    const sentAt = Date.now();
    for (let x = 1; x <= 40; x++) for (const group of ['london', 'paris']) assert.equal((await invoke(group, x)).status, 200);

    const p = await status();
    const { latency, training, serving } = p.performance;
    assert.ok(latency, 'latency over the last minute');
    assert.equal(latency.requests, 80);
    assert.equal(latency.errors, 0);
    assert.equal(latency.windowMs, 60_000);
    assert.ok(latency.p50Ms! > 0 && latency.p50Ms! <= latency.p99Ms!, `p50 ${latency.p50Ms} <= p99 ${latency.p99Ms}`);

    const run = deployed.runs.find((r) => r.status === 'succeeded')!;
    assert.ok(training, 'the finished run is priced');
    assert.equal(training.runId, run.id);
    assert.equal(training.executor, 'local');
    assert.equal(training.instanceType, 'ml.c5.xlarge');
    assert.ok(training.instanceHours > 0 && training.instanceHours < 0.1, `instance-hours: ${training.instanceHours}`);
    assert.ok(training.computeMs >= training.instanceHours * 3_600_000 - 1, 'compute time includes the train steps');
    assert.equal(training.usdPerHour, TRAINING_C5_XLARGE);
    close(training.estimatedUsd, training.instanceHours * TRAINING_C5_XLARGE, 'estimated training cost');

    assert.ok(serving, 'the live servers are priced');
    assert.equal(serving.backend, 'local');
    assert.equal(serving.instanceType, 'ml.c5.large');
    assert.equal(serving.instances, 2, 'one server per group');
    assert.equal(serving.instances, p.variants.filter((v) => v.state === 'live').length);
    close(serving.usdPerHour, 2 * HOSTING_C5_LARGE, 'serving per hour');
    close(serving.estimatedUsdPer30Days, 2 * HOSTING_C5_LARGE * 720, 'serving per 30 days');

    // The history samples every 5 s of real time; the traffic above lands in the next sample or two.
    const history = await eventually(
      () => {
        const f = frames.find((x) => x.event?.kind === 'history' && (x.event.at as number) > sentAt);
        return f?.event as
          | {
              at: number;
              intervalMs: number;
              pipelines: { pipeline: string; point: { current: { requests: number } | null }; latency: { requests: number } }[];
            }
          | undefined;
      },
      15_000,
      'a history event',
    );
    assert.equal(history.intervalMs, 5000);
    const shop = history.pipelines.find((x) => x.pipeline === 'shop');
    assert.ok(shop?.point.current && shop.point.current.requests > 0, JSON.stringify(history));
    assert.ok(shop.latency.requests > 0);
    const points = await eventually(
      async () => {
        const pts = (await status()).performance.history.points;
        return pts.reduce((n, x) => n + (x.current?.requests ?? 0), 0) === 80 ? pts : undefined;
      },
      15_000,
      'the history to hold every request once',
    );
    assert.ok(
      points.every((x) => x.candidate === null),
      'no candidate served',
    );
  });

  it('while shifting, says when the next step is due and the weight it brings', async () => {
    writeFileSync(join(d.repo, 'forecast/behaviour.json'), '{"retrained": true}');
    const p = await deploy(['shifting']);
    const { rollout } = p;
    assert.ok(rollout?.nextStep, JSON.stringify(rollout));
    assert.equal(rollout.candidateWeight, 20);
    assert.equal(rollout.nextStep.weight, 40);
    assert.ok(rollout.nextStep.at > Date.now(), `next step at ${new Date(rollout.nextStep.at).toISOString()} is in the future`);
    assert.ok(rollout.nextStep.at <= Date.now() + 10_000, 'within one step interval (10 min / 60)');
    assert.equal(p.performance.serving?.instances, 4, 'current and candidate servers of both groups');

    const r = await runCli('mlp', ['promote', 'shop'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    const done = await eventually(
      async () => {
        const now = await status();
        return now.rollout?.phase === 'promoted' ? now : undefined;
      },
      30_000,
      'the promote',
    );
    assert.equal(done.rollout!.nextStep, null);
    assert.equal(done.performance.serving?.instances, 2);
  });
});
