/**
 * The gated rollout on `deployment.backend: sagemaker`, end to end: a real `mlpd start` (--time-scale) drives
 * endpoints on the SageMaker stand-in (moto behind it, model containers in the real Docker engine). Versions are
 * trained as SageMaker training jobs on the stand-in; live traffic goes through InvokeEndpoint; what a user sees is
 * read from `mlp status --json`, and the endpoint's weights from DescribeEndpoint.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DescribeModelCommand } from '@aws-sdk/client-sagemaker';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { endpointName, modelName } from '../../daemon/platform/sagemaker/naming.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { removeImage, startStandin, type Standin } from '../helpers/sagemaker-standin.js';
import { BUCKET, buildPipelineImage, sagemakerRepo, standinClients } from '../helpers/sagemaker-pipeline.js';

const IMAGE = `mlp-sm-serving:${process.pid}`;
const ENDPOINT = endpointName('shop', 'default');

interface RolloutJson {
  id: number;
  phase: string;
  candidateVersion: string;
  candidateWeight: number;
  reason: string | null;
  gates: Record<string, { passed: boolean; skipped: boolean; summary: string; report: any }>;
  decisions: { phase: string; rule: string; verdict: string; reason: string; observed: unknown; threshold: unknown; sample: any }[];
}
interface PipelineJson {
  runs: { status: string; reason: string | null }[];
  current: { version: string } | null;
  rollout: RolloutJson | null;
  variants: { variant: string; role: string; backend: string; weight: number; metrics: { total: { requests: number } } | null }[];
}

describe('gated rollouts on SageMaker endpoints', () => {
  let moto: Moto;
  let standin: Standin;
  let d: TestDaemon;
  let repo: string;
  let aws: ReturnType<typeof standinClients>;
  let live: { stop: () => Promise<{ status: number; variant: string | undefined }[]> } | undefined;

  const status = async (): Promise<PipelineJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
  };
  /** Live traffic through InvokeEndpoint in the background, x from `from` upwards. */
  const traffic = (from: number) => {
    let running = true;
    const seen: { status: number; variant: string | undefined }[] = [];
    const loop = (async () => {
      for (let x = from; running; x++) seen.push(await aws.invoke(ENDPOINT, x));
    })();
    return { stop: async () => ((running = false), await loop, seen) };
  };
  const deploy = async (
    behaviour: object,
    expected: string,
    opts: { during?: (r: RolloutJson) => Promise<void>; watch?: () => Promise<void> } = {},
  ) => {
    writeFileSync(join(repo, 'forecast/behaviour.json'), JSON.stringify(behaviour));
    const before = (await status()).rollout?.id ?? 0;
    const r = await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    let hooked = false;
    const ended = await eventually(
      async () => {
        const s = await status();
        if (s.runs[0]?.status === 'failed') return { failedRun: s.runs[0].reason };
        const ro = s.rollout;
        if (!ro || ro.id === before) return undefined;
        if (ro.phase === 'shifting') await opts.watch?.();
        if (!hooked && opts.during && ro.phase === 'shifting' && ro.candidateWeight > 0) {
          hooked = true;
          await opts.during(ro);
        }
        return ['promoted', 'blocked', 'rolled_back', 'failed'].includes(ro.phase) ? ro : undefined;
      },
      180_000,
      `the rollout to end ${expected}\n${d.stderr().slice(-4000)}`,
    );
    if ('failedRun' in ended) assert.fail(`the training run failed: ${ended.failedRun}\n${d.stderr().slice(-3000)}`);
    return ended;
  };

  before(async () => {
    [moto] = await Promise.all([startMoto(), buildPipelineImage(IMAGE)]);
    standin = await startStandin(moto, { transitionMs: 300 });
    aws = standinClients(standin.env);
    repo = sagemakerRepo(IMAGE);
    d = await startTestDaemon({ repo, args: ['--time-scale', '60'], env: standin.env });
  });
  after(async () => {
    await live?.stop();
    await d?.stop();
    await standin?.stop();
    await moto?.stop();
    await removeImage(IMAGE);
  });

  it('puts a first version live on its endpoint', async () => {
    const r = await deploy({}, 'promoted');
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    assert.ok(r.decisions.some((x) => x.rule === 'first_version'));
    assert.equal(r.gates.integration_tests?.passed, true, JSON.stringify(r.gates));
    const s = await status();
    assert.equal(s.current?.version, 'v1');
    assert.deepEqual(
      s.variants.map((v) => [v.variant, v.role, v.backend, v.weight]),
      [['v1', 'current', 'sagemaker', 100]],
    );
    assert.deepEqual(await aws.weights(ENDPOINT), { v1: 1 });
    // v1's CloudWatch counts start when the platform begins to watch it (its promotion, which may end just after
    // the rollout says promoted), from the next whole second: CloudWatch times are whole seconds, and the
    // integration tests' requests before it are not live traffic. The live traffic starts after that second.
    await eventually(async () => (await status()).variants[0]?.metrics ?? undefined, 30_000, 'v1 watched in CloudWatch');
    const countedFrom = Math.ceil(Date.now() / 1000) * 1000;
    await new Promise((done) => setTimeout(done, Math.max(0, countedFrom + 100 - Date.now())));
    // Live traffic, captured by the endpoint: what the next rollouts replay.
    for (let x = 1; x <= 60; x++) assert.equal((await aws.invoke(ENDPOINT, x)).status, 200);
    await standin.flush();
    // mlp status shows the endpoint's CloudWatch counts, as it shows the router's for local pipelines.
    const counted = await eventually(
      async () => {
        const m = (await status()).variants[0]?.metrics;
        return m && m.total.requests >= 60 ? m : undefined;
      },
      30_000,
      'the CloudWatch counts of v1 in mlp status',
    );
    assert.equal(counted.total.requests, 60);
  });

  it('takes a good version through every gate and the shift to promoted, the endpoint weights stepping', async () => {
    const seen = new Set<string>();
    live = traffic(2000);
    const r = await deploy({}, 'promoted', {
      watch: async () => {
        const w = await aws.weights(ENDPOINT).catch(() => null);
        if (w && 'v2' in w) seen.add(`${w.v1 ?? 0}/${w.v2}`);
      },
    });
    await live.stop();
    live = undefined;
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    const steps = r.decisions.map((x) => `${x.rule}:${x.verdict}`);
    assert.deepEqual(steps.slice(0, 4), ['candidates_live:advance', 'data_checks:skip', 'integration_tests:advance', 'replay:advance']);
    assert.deepEqual(
      r.decisions.filter((x) => x.rule === 'step').map((x) => x.observed),
      [25, 50, 75, 100],
    );
    assert.match(r.gates.replay!.summary, /\d+ requests/);
    const replayed = Object.values(r.gates.replay!.report as Record<string, any>)[0];
    assert.ok(replayed.sent >= 60, `replay drew the captured live traffic from S3: ${JSON.stringify(replayed).slice(0, 300)}`);
    assert.ok(
      [...seen].some((w) => ['75/25', '50/50', '25/75'].includes(w)),
      `DescribeEndpoint read intermediate weights: ${[...seen].join(', ')}`,
    );
    assert.equal((await status()).current?.version, 'v2');
    assert.deepEqual(await aws.weights(ENDPOINT), { v2: 1 }, 'the old variant is gone from the endpoint');
    await standin.flush();
  });

  it("serves a version trained with --cloud from the training job's own model.tar.gz, uploading nothing", async () => {
    const model = await aws.sagemaker.send(new DescribeModelCommand({ ModelName: modelName('shop', 'default', 2) }));
    assert.match(model.PrimaryContainer!.ModelDataUrl!, new RegExp(`^s3://${BUCKET}/mlp/shop/runs/.*/output/.*model\\.tar\\.gz$`));
    assert.equal(model.PrimaryContainer!.Image, IMAGE);
    assert.equal(model.PrimaryContainer!.Environment!.MLP_SERVE_COMMAND, 'python3 serve.py');
    const s3 = new S3Client({
      endpoint: standin.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      forcePathStyle: true,
    });
    const uploaded = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'mlp/shop/models/' }));
    assert.deepEqual(uploaded.Contents ?? [], [], 'no model was packed and uploaded again');
    await assert.rejects(
      aws.sagemaker.send(new DescribeModelCommand({ ModelName: modelName('shop', 'default', 1) })),
      /Could not find model/,
      "the old version's model is deleted",
    );
  });

  it('blocks a version that errors on captured traffic in replay; its variant never gets weight', async () => {
    const weights = new Set<number>();
    live = traffic(3000);
    const r = await deploy({ fail_mod: 7 }, 'blocked', {
      watch: async () => void weights.add((await aws.weights(ENDPOINT))['v3'] ?? 0),
    });
    const statuses = await live.stop();
    live = undefined;
    assert.equal(r.phase, 'blocked', JSON.stringify(r.decisions, null, 1));
    const block = r.decisions.at(-1)!;
    assert.equal(block.phase, 'replaying');
    assert.equal(block.verdict, 'block');
    const report = Object.values(r.gates.replay!.report as Record<string, any>)[0];
    assert.ok(report.regressions.count >= 8, `regressions: ${report.regressions.count}`);
    assert.equal(report.regressions.samples[0].candidate.status, 500);
    assert.equal(r.decisions.filter((x) => x.rule === 'step').length, 0);
    assert.deepEqual(
      [...weights].filter((w) => w > 0),
      [],
    );
    assert.ok(
      statuses.every((x) => x.status === 200 && x.variant === 'v2'),
      'live traffic only saw the current model',
    );
    assert.deepEqual(await aws.weights(ENDPOINT), { v2: 1 });
    assert.equal((await status()).current?.version, 'v2');
  });

  it('rolls back a version that fails under live traffic from the CloudWatch error rate, naming metric, figure, threshold and sample', async () => {
    // Captured traffic has x below 100,000: this version passes replay, then meets live traffic above it. The shift
    // is paused at its first weight (the watch goes on while paused), so the verdict waits for min_requests in
    // CloudWatch however slowly a loaded machine sends them.
    const r = await deploy({ fail_above: 100_000 }, 'rolled_back', {
      during: async () => {
        const paused = await runCli('mlp', ['pause', 'shop'], { env: d.clientEnv() });
        assert.equal(paused.code, 0, paused.stderr);
        live = traffic(100_000);
      },
    });
    await live?.stop();
    live = undefined;
    assert.equal(r.phase, 'rolled_back', JSON.stringify(r.decisions, null, 1));
    const rollback = r.decisions.find((x) => x.verdict === 'rollback')!;
    assert.equal(rollback.rule, 'error_rate');
    assert.ok((rollback.observed as number) > 0.1);
    assert.equal(rollback.threshold, 0.1);
    assert.ok(rollback.sample.requests >= 20, JSON.stringify(rollback.sample));
    assert.match(rollback.sample.window, /CloudWatch .*Invocation5XXErrors\/Invocations/);
    assert.match(
      rollback.reason,
      /error rate .* of the \d+ requests of the CloudWatch 5 min \(AWS\/SageMaker Invocation5XXErrors\/Invocations\) window\) is above 10%/,
    );
    assert.deepEqual(await aws.weights(ENDPOINT), { v2: 1 });
    assert.equal((await aws.invoke(ENDPOINT, 100_000)).variant, 'v2');
    assert.equal((await status()).current?.version, 'v2');
  });

  it('finishes the same rollout after the daemon is killed with -9 during the shift', async () => {
    live = traffic(7_000);
    let killedIn: RolloutJson | undefined;
    const r = await deploy({}, 'promoted', {
      during: async (ro) => {
        killedIn = ro;
        await d.stop('SIGKILL');
        d = await startTestDaemon({ repo, dataDir: d.dataDir, args: ['--time-scale', '60'], env: standin.env });
      },
    });
    await live.stop();
    live = undefined;
    assert.ok(killedIn, 'the daemon was killed while shifting');
    assert.equal(r.id, killedIn.id, 'the same rollout went on');
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    assert.ok(r.decisions.some((x) => x.rule === 'restart'));
    assert.equal((await status()).current?.version, r.candidateVersion);
    assert.deepEqual(await aws.weights(ENDPOINT), { [r.candidateVersion]: 1 });
  });
});
