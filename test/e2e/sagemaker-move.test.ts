/**
 * Moving a live pipeline from mlpd's router to SageMaker by changing one line of pipeline.yaml
 * (`deployment.backend: local` → `sagemaker`), end to end: a real `mlpd start` serves v1 on the local backend, the
 * file changes in the repo it watches, and the next version rolls out on the SageMaker stand-in (moto behind it,
 * model containers in the real Docker engine) with v1 brought up on the endpoint beside it. What a user sees is
 * read from `mlp status --json`, the endpoint from DescribeEndpoint, the router from its answers.
 */
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DescribeEndpointCommand, DescribeModelCommand } from '@aws-sdk/client-sagemaker';
import { endpointName, modelName } from '../../daemon/platform/sagemaker/naming.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { isAlive, pidsWithEnv } from '../helpers/processes.js';
import { removeImage, startStandin, type Standin } from '../helpers/sagemaker-standin.js';
import { buildPipelineImage, sagemakerRepo, standinClients } from '../helpers/sagemaker-pipeline.js';

const IMAGE = `mlp-sm-move:${process.pid}`;
const ENDPOINT = endpointName('shop', 'default');

/** The integration tests on either platform: through the router's model server, or InvokeEndpoint with TargetVariant. */
const IT_PY = `import json, os, urllib.request
if "MLP_ENDPOINT_NAME" in os.environ:
    import boto3
    out = boto3.client("sagemaker-runtime").invoke_endpoint(EndpointName=os.environ["MLP_ENDPOINT_NAME"], TargetVariant=os.environ["MLP_VARIANT"],
                                                            Body=b'{"x": 22}', ContentType="application/json")
    answer = json.loads(out["Body"].read())
else:
    req = urllib.request.Request(os.environ["MLP_ENDPOINT_URL"] + "/invocations", data=b'{"x": 22}', headers={"content-type": "application/json"})
    answer = json.loads(urllib.request.urlopen(req).read())
assert answer["y"] == 44, answer
print("integration ok against", answer["v"], flush=True)
`;

interface RolloutJson {
  id: number;
  phase: string;
  gates: Record<string, { passed: boolean; summary: string; report: any }>;
  decisions: { phase: string; rule: string; verdict: string; reason: string }[];
}
interface PipelineJson {
  runs: { status: string; reason: string | null }[];
  backends: { training: string; serving: string };
  current: { version: string } | null;
  rollout: RolloutJson | null;
  variants: { variant: string; role: string; backend: string; weight: number; port: number | null }[];
}

describe('moving a live pipeline from the router to SageMaker by changing deployment.backend', () => {
  let moto: Moto;
  let standin: Standin;
  let d: TestDaemon;
  let repo: string;
  let aws: ReturnType<typeof standinClients>;
  let v1Pid = 0;

  const status = async (): Promise<PipelineJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
  };
  /** One request to mlpd's router, as the pipeline's clients sent them before the move. */
  const viaRouter = async (x: number) => {
    const res = await fetch(`${d.serveUrl}/endpoints/shop/invocations`, {
      method: 'POST',
      body: JSON.stringify({ x }),
      headers: { 'content-type': 'application/json' },
    });
    const body = await res.text();
    return { status: res.status, variant: res.headers.get('x-mlp-variant'), body };
  };
  const deploy = async (
    behaviour: object,
    expected: string,
    during?: (r: RolloutJson & { candidateWeight: number }) => Promise<boolean>,
  ): Promise<RolloutJson> => {
    writeFileSync(join(repo, 'forecast/behaviour.json'), JSON.stringify(behaviour));
    const before = (await status()).rollout?.id ?? 0;
    const r = await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    const ended = await eventually(
      async () => {
        const s = await status();
        if (s.runs[0]?.status === 'failed') return { failedRun: s.runs[0].reason };
        const ro = s.rollout;
        if (!ro || ro.id === before) return undefined;
        if (during && ro.phase === 'shifting' && (await during(ro as RolloutJson & { candidateWeight: number }))) during = undefined;
        return ['promoted', 'blocked', 'rolled_back', 'failed'].includes(ro.phase) ? ro : undefined;
      },
      240_000,
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
    const file = join(repo, 'forecast/pipeline.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('backend: sagemaker', 'backend: local'));
    writeFileSync(join(repo, 'forecast/it.py'), IT_PY);
    d = await startTestDaemon({ repo, args: ['--time-scale', '60'], env: standin.env });
  });
  after(async () => {
    await d?.stop();
    await standin?.stop();
    await moto?.stop();
    await removeImage(IMAGE);
  });

  it('serves v1 on the local backend, its traffic captured by the router', async () => {
    const r = await deploy({}, 'promoted');
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    const s = await status();
    assert.deepEqual(
      s.variants.map((v) => [v.variant, v.role, v.backend, v.weight]),
      [['v1', 'current', 'local', 100]],
    );
    for (let x = 1; x <= 60; x++) assert.equal((await viaRouter(x)).status, 200);
    v1Pid = pidsWithEnv({ PORT: String(s.variants[0]!.port), MLP_VARIANT: 'v1', MLP_PIPELINE: 'shop' })[0] ?? 0;
    assert.ok(v1Pid && isAlive(v1Pid), 'the model server of v1 runs on this machine');
  });

  /** The router's clients, in the background from `from` upwards, until `stop()` gives what they saw. */
  const routerClients = (from: number) => {
    let sending = true;
    const seen: { status: number; variant: string | null; body: string }[] = [];
    const loop = (async () => {
      for (let x = from; sending; x++) {
        seen.push(await viaRouter(x));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    return { stop: async () => ((sending = false), await loop, seen) };
  };

  it('leaves nothing on SageMaker when the version that moves the group is blocked; the router keeps serving v1', async () => {
    const file = join(repo, 'forecast/pipeline.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('backend: local', 'backend: sagemaker'));
    await eventually(
      async () => ((await status()).backends.serving === 'sagemaker' ? true : undefined),
      10_000,
      'the edited backend in force',
    );

    const clients = routerClients(500);
    const r = await deploy({ fail_mod: 7 }, 'blocked');
    const seen = await clients.stop();
    assert.equal(r.phase, 'blocked', JSON.stringify(r.decisions, null, 1));
    assert.match(
      r.decisions.find((x) => x.rule === 'candidates_live')!.reason,
      /moving default from local to sagemaker: v1 brought up on endpoint/,
    );
    assert.equal(r.decisions.at(-1)!.phase, 'replaying');
    assert.ok(seen.length > 0 && seen.every((x) => x.status === 200 && x.variant === 'v1'), 'the router served v1 throughout');
    await assert.rejects(
      aws.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT })),
      /Could not find endpoint/,
      'the endpoint made for the move is gone',
    );
    for (const version of [1, 2]) {
      await assert.rejects(
        aws.sagemaker.send(new DescribeModelCommand({ ModelName: modelName('shop', 'default', version) })),
        /Could not find model/,
      );
    }
    const s = await status();
    assert.deepEqual(
      s.variants.map((v) => [v.variant, v.role, v.backend, v.weight]),
      [['v1', 'current', 'local', 100]],
    );
    assert.ok(isAlive(v1Pid), 'the same server of v1 still runs');
  });

  /** The model servers of v1 this daemon runs from the pipeline's folder (the stand-in's containers run elsewhere). */
  const v1Servers = () =>
    pidsWithEnv({ MLP_VARIANT: 'v1', MLP_PIPELINE: 'shop' }).filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === join(repo, 'forecast');
      } catch {
        return false;
      }
    });

  it('rolls the next version out on SageMaker, v1 brought up on the endpoint, replay drawn from the local capture; v1 stops on the router, across a daemon killed mid-shift', async () => {
    // The router's clients keep being served by v1 until the promotion (but for the daemon's restart).
    const before: Awaited<ReturnType<ReturnType<typeof routerClients>['stop']>> = [];
    let clients = routerClients(1000);
    let killedIn: number | undefined;
    const r = await deploy({}, 'promoted', async (ro) => {
      if (ro.candidateWeight === 0) return false;
      killedIn = ro.id;
      before.push(...(await clients.stop()));
      await d.stop('SIGKILL');
      d = await startTestDaemon({ repo, dataDir: d.dataDir, args: ['--time-scale', '60'], env: standin.env });
      await eventually(
        async () => ((await viaRouter(1)).status === 200 ? true : undefined),
        30_000,
        'v1 back on the router after the restart',
      );
      clients = routerClients(2000);
      return true;
    });
    const seen = [...before, ...(await clients.stop())];
    assert.equal(r.id, killedIn, 'the daemon was killed during the shift and the same rollout went on');
    assert.ok(
      r.decisions.some((x) => x.rule === 'restart'),
      JSON.stringify(r.decisions, null, 1),
    );

    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    const live = r.decisions.find((x) => x.rule === 'candidates_live')!;
    assert.match(live.reason, new RegExp(`moving default from local to sagemaker: v1 brought up on endpoint ${ENDPOINT}`));
    assert.equal(r.gates.integration_tests?.passed, true, JSON.stringify(r.gates));
    const replayed = Object.values(r.gates.replay!.report as Record<string, any>)[0];
    assert.ok(replayed.sent >= 60, `replay drew the router's captured traffic: ${JSON.stringify(replayed).slice(0, 300)}`);
    assert.deepEqual(r.decisions.filter((x) => x.rule === 'step').length > 0, true);

    // Before the promotion the router answered with v1; after it, a 503 naming the endpoint.
    const first503 = seen.findIndex((x) => x.status !== 200);
    const served = first503 === -1 ? seen : seen.slice(0, first503);
    const summary = JSON.stringify([...new Set(seen.map((x) => `${x.status} ${x.variant} ${x.body.slice(0, 160)}`))].slice(0, 8));
    assert.ok(
      served.length > 0 && served.every((x) => x.variant === 'v1'),
      `the router served v1 during the move: ${seen.length} requests, ${summary}`,
    );
    for (const x of seen.slice(first503 === -1 ? seen.length : first503)) assert.equal(x.status, 503, x.body);

    assert.deepEqual(await aws.weights(ENDPOINT), { v3: 1 }, 'the endpoint serves v3 alone');
    const s = await status();
    assert.equal(s.current?.version, 'v3');
    assert.deepEqual(
      s.variants.map((v) => [v.variant, v.role, v.backend, v.weight]),
      [['v3', 'current', 'sagemaker', 100]],
    );
    await eventually(() => (isAlive(v1Pid) || v1Servers().length ? undefined : true), 15_000, 'the local servers of v1 to stop');
    await assert.rejects(
      aws.sagemaker.send(new DescribeModelCommand({ ModelName: modelName('shop', 'default', 1) })),
      /Could not find model/,
      'the copy of v1 is deleted',
    );

    const after = await viaRouter(5);
    assert.equal(after.status, 503);
    assert.match(after.body, new RegExp(`serves on SageMaker endpoint ${ENDPOINT}`));
    assert.equal((await aws.invoke(ENDPOINT, 5)).variant, 'v3');
  });
});
