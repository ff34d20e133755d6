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
import { endpointName } from '../../daemon/platform/sagemaker/naming.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { removeImage, startStandin, type Standin } from '../helpers/sagemakerStandin.js';
import { buildPipelineImage, sagemakerPipelineYaml, sagemakerRepo, standinClients } from '../helpers/sagemaker-pipeline.js';

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
  const deploy = async (behaviour: object, expected: string, opts: { during?: (r: RolloutJson) => Promise<void>; watch?: () => Promise<void> } = {}) => {
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
    assert.deepEqual(s.variants.map((v) => [v.variant, v.role, v.backend, v.weight]), [['v1', 'current', 'sagemaker', 100]]);
    assert.deepEqual(await aws.weights(ENDPOINT), { v1: 1 });
    // Live traffic, captured by the endpoint: what the next rollouts replay.
    for (let x = 1; x <= 60; x++) assert.equal((await aws.invoke(ENDPOINT, x)).status, 200);
    await standin.flush();
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
    assert.deepEqual(r.decisions.filter((x) => x.rule === 'step').map((x) => x.observed), [25, 50, 75, 100]);
    assert.match(r.gates.replay!.summary, /\d+ requests/);
    const replayed = Object.values(r.gates.replay!.report as Record<string, any>)[0];
    assert.ok(replayed.sent >= 60, `replay drew the captured live traffic from S3: ${JSON.stringify(replayed).slice(0, 300)}`);
    assert.ok([...seen].some((w) => ['75/25', '50/50', '25/75'].includes(w)), `DescribeEndpoint read intermediate weights: ${[...seen].join(', ')}`);
    assert.equal((await status()).current?.version, 'v2');
    assert.deepEqual(await aws.weights(ENDPOINT), { v2: 1 }, 'the old variant is gone from the endpoint');
    await standin.flush();
  });
});
