/**
 * AWS failing under a SageMaker rollout (the stand-in injects the errors, at the protocol level): throttling is
 * retried and the rollout finishes; access denied ends it `failed` with the AWS error in its decision, and the
 * endpoint keeps serving the current version.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { endpointName } from '../../daemon/platform/sagemaker/naming.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { removeImage, startStandin, type Standin } from '../helpers/sagemaker-standin.js';
import { buildPipelineImage, sagemakerRepo, standinClients } from '../helpers/sagemaker-pipeline.js';

const IMAGE = `mlp-sm-faults:${process.pid}`;
const ENDPOINT = endpointName('shop', 'default');

interface RolloutJson {
  id: number;
  phase: string;
  reason: string | null;
  decisions: { rule: string; verdict: string; reason: string }[];
}
interface PipelineJson {
  runs: { status: string; reason: string | null }[];
  current: { version: string } | null;
  rollout: RolloutJson | null;
}

describe('AWS failures under a SageMaker rollout', () => {
  let moto: Moto;
  let standin: Standin;
  let d: TestDaemon;
  let repo: string;
  let aws: ReturnType<typeof standinClients>;

  const status = async (): Promise<PipelineJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
  };
  const deploy = async (expected: string, behaviour: object = {}): Promise<RolloutJson> => {
    writeFileSync(join(repo, 'forecast/behaviour.json'), JSON.stringify({ deploy: Date.now(), ...behaviour }));
    const before = (await status()).rollout?.id ?? 0;
    const r = await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    const ended = await eventually(
      async () => {
        const s = await status();
        if (s.runs[0]?.status === 'failed') return { failedRun: s.runs[0].reason };
        const ro = s.rollout;
        return ro && ro.id !== before && ['promoted', 'blocked', 'rolled_back', 'failed'].includes(ro.phase) ? ro : undefined;
      },
      180_000,
      `the rollout to end ${expected}\n${d.stderr().slice(-4000)}`,
    );
    if ('failedRun' in ended) assert.fail(`the training run failed: ${ended.failedRun}`);
    return ended;
  };

  before(async () => {
    [moto] = await Promise.all([startMoto(), buildPipelineImage(IMAGE)]);
    standin = await startStandin(moto, { transitionMs: 300 });
    aws = standinClients(standin.env);
    repo = sagemakerRepo(IMAGE);
    d = await startTestDaemon({ repo, args: ['--time-scale', '60'], env: standin.env });
    const first = await deploy('promoted');
    assert.equal(first.phase, 'promoted', JSON.stringify(first.decisions));
  });
  after(async () => {
    await d?.stop();
    await standin?.stop();
    await moto?.stop();
    await removeImage(IMAGE);
  });

  it('retries throttled calls and still finishes the rollout', async () => {
    await standin.inject({
      action: 'UpdateEndpointWeightsAndCapacities',
      error: 'ThrottlingException',
      message: 'Rate exceeded',
      count: 2,
    });
    await standin.inject({ action: 'DescribeEndpoint', error: 'ServiceUnavailable', count: 1 });
    const r = await deploy('promoted');
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    assert.deepEqual(await (await fetch(`${standin.url}/standin/faults`)).json(), {}, 'every injected error was met');
    assert.match(d.stderr(), /endpoint .* is Updating/, 'the wait for the endpoint shows in the log');
    assert.equal((await status()).current?.version, 'v2');
    assert.deepEqual(await aws.weights(ENDPOINT), { v2: 1 });
  });

  it('ends the rollout failed with the AWS error when access is denied, the endpoint still serving the current version', async () => {
    await standin.inject({
      action: 'UpdateEndpoint',
      error: 'AccessDeniedException',
      message: 'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sagemaker:UpdateEndpoint',
    });
    const r = await deploy('failed');
    assert.equal(r.phase, 'failed', JSON.stringify(r.decisions, null, 1));
    assert.deepEqual(await (await fetch(`${standin.url}/standin/faults`)).json(), {});
    const fail = r.decisions.find((x) => x.verdict === 'fail')!;
    assert.match(fail.reason, /AWS denied UpdateEndpoint: User: .* is not authorized to perform: sagemaker:UpdateEndpoint/);
    assert.match(r.reason!, /AWS denied UpdateEndpoint/);
    assert.equal((await status()).current?.version, 'v2');
    assert.deepEqual(await aws.weights(ENDPOINT), { v2: 1 });
    assert.deepEqual(await aws.invoke(ENDPOINT, 1), { status: 200, variant: 'v2' });
  });

  it('blocks a version whose container does not start: SageMaker keeps the current configuration serving', async () => {
    const r = await deploy('blocked', { crash: 'no weights file' });
    assert.equal(r.phase, 'blocked', JSON.stringify(r.decisions, null, 1));
    const block = r.decisions.find((x) => x.verdict === 'block')!;
    assert.equal(block.rule, 'candidates_live');
    assert.match(block.reason, /SageMaker could not put .* on mlp-shop-default-\w+ and kept .* serving: .*v4/);
    assert.equal((await status()).current?.version, 'v2');
    assert.deepEqual(await aws.weights(ENDPOINT), { v2: 1 });
    assert.deepEqual(await aws.invoke(ENDPOINT, 1), { status: 200, variant: 'v2' });
  });
});
