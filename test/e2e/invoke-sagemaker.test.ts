/**
 * `mlp invoke` on a pipeline served on SageMaker: the daemon's status says where the pipeline serves and
 * names its endpoint; the request is InvokeEndpoint on the SageMaker stand-in, whose model containers run
 * in the real Docker engine. The endpoints are made here with the SDK, as the SageMaker platform would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { endpointName } from '../../daemon/platform/sagemaker/naming.js';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { buildServingImage, modelTarball, removeImage, startStandin, type Standin } from '../helpers/sagemaker-standin.js';

const IMAGE = `mlp-invoke-serve:${process.pid}`;
const BUCKET = 'team-mlp-artifacts';
const ROLE = 'arn:aws:iam::123456789012:role/mlp-sagemaker';
const MLP_YAML = `warehouses:
  warehouse: sqlite:warehouse.db
aws:
  region: us-east-1
  role_arn: ${ROLE}
  bucket: ${BUCKET}
`;

let moto: Moto;
let standin: Standin;
let d: TestDaemon;
/** The stand-in's variables: mlp finds it the standard way, as it would find AWS. */
let env: Record<string, string>;

before(async () => {
  [moto] = await Promise.all([startMoto(), buildServingImage(IMAGE)]);
  standin = await startStandin(moto, { transitionMs: 100 });
  const clients = { region: 'us-east-1', endpoint: standin.url, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  const sagemaker = new SageMakerClient(clients);
  const s3 = new S3Client({ ...clients, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const [version, spec] of [
    ['v1', { version: 'v1', scale: 2 }],
    ['v2', { version: 'v2', scale: 3, fail_above: 100 }],
  ] as const) {
    const key = `mlp/forecast/models/${version}/model.tar.gz`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: modelTarball({ 'model.json': JSON.stringify(spec) }) }));
    await sagemaker.send(
      new CreateModelCommand({
        ModelName: `forecast-${version}`,
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: IMAGE, ModelDataUrl: `s3://${BUCKET}/${key}` },
      }),
    );
  }
  // The current version takes the traffic; the candidate is reached only with TargetVariant.
  const endpoint = endpointName('forecast', 'default');
  await sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: `${endpoint}-1`,
      ProductionVariants: [
        { VariantName: 'v1', ModelName: 'forecast-v1', InitialVariantWeight: 1, InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
        { VariantName: 'v2', ModelName: 'forecast-v2', InitialVariantWeight: 0, InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
      ],
    }),
  );
  await sagemaker.send(new CreateEndpointCommand({ EndpointName: endpoint, EndpointConfigName: `${endpoint}-1` }));
  for (const deadline = Date.now() + 60_000; ;) {
    const status = (await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpoint }))).EndpointStatus;
    if (status === 'InService') break;
    if (status === 'Failed' || Date.now() > deadline) assert.fail(`endpoint ${endpoint} is ${status}\n${standin.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const repo = pipelineRepo({
    cities: ['lima', 'quito'],
    pipelineYaml: 'pipeline:\n  name: forecast\n  deployment:\n    backend: sagemaker\n',
    extra: {
      'mlp.yaml': MLP_YAML,
      'cities/pipeline.yaml':
        'pipeline:\n  name: cities\n  groups:\n    generate: true\n    source: warehouse.cities\n  deployment:\n    backend: sagemaker\n',
    },
  });
  d = await startTestDaemon({ repo });
  env = { ...standin.env, ...d.clientEnv() };
});

after(async () => {
  await d?.stop();
  await standin?.stop();
  await moto?.stop();
  await removeImage(IMAGE);
});

const invoke = (args: string[], extra: Record<string, string> = {}) => runCli('mlp', ['invoke', ...args], { env: { ...env, ...extra } });

describe('mlp invoke on SageMaker', () => {
  it('mlpd says where a pipeline serves and which endpoint each group has', async () => {
    const s = JSON.parse((await runCli('mlp', ['status', '--json'], { env })).stdout) as {
      pipelines: { name: string; backends: unknown; sagemaker: unknown }[];
    };
    const forecast = s.pipelines.find((p) => p.name === 'forecast')!;
    assert.deepEqual(forecast.backends, { training: 'sagemaker', serving: 'sagemaker' });
    assert.deepEqual(forecast.sagemaker, { region: 'us-east-1', endpoints: { default: endpointName('forecast', 'default') } });
  });

  it("calls the group's endpoint through InvokeEndpoint and prints the answer and the variant", async () => {
    const r = await invoke(['forecast', '--data', '{"x": 4}']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { y: 8, version: 'v1', label: null });
    assert.match(
      r.stderr,
      new RegExp(`^HTTP 200 from v1 in [\\d.]+ ms \\(SageMaker endpoint ${endpointName('forecast', 'default')}\\)\\n$`),
    );

    const json = await invoke(['forecast', '--data', '{"x": 4}', '--json']);
    const out = JSON.parse(json.stdout) as { status: number; variant: string; latencyMs: number; body: unknown };
    assert.deepEqual(
      { ...out, latencyMs: typeof out.latencyMs },
      { status: 200, variant: 'v1', latencyMs: 'number', body: { y: 8, version: 'v1', label: null } },
    );
  });

  it('--variant picks the variant (TargetVariant), even one at weight 0', async () => {
    const r = await invoke(['forecast', '--data', '{"x": 4}', '--variant', 'v2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).body, { y: 12, version: 'v2', label: null });
    assert.equal(JSON.parse(r.stdout).variant, 'v2');
    const unknown = await invoke(['forecast', '--data', '{"x": 4}', '--variant', 'v9']);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /SageMaker refused InvokeEndpoint on mlp-forecast-default-\w+: The variant\(s\) "\[v9\]" is\/are not present/,
    );
  });

  it('a model that fails gives its status and message (ModelError), exit 1', async () => {
    const r = await invoke(['forecast', '--data', '{"x": 500}', '--variant', 'v2']);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), { error: 'x=500.0 is beyond what this model handles' });
    assert.match(
      r.stderr,
      /^error: HTTP 500 from v2 in [\d.]+ ms \(SageMaker endpoint mlp-forecast-default-\w+, ModelError: the model answered with an error\)\n$/,
    );
    const json = await invoke(['forecast', '--data', '{"x": 500}', '--variant', 'v2', '--json']);
    assert.equal(json.code, 1);
    assert.deepEqual(
      { ...JSON.parse(json.stdout), latencyMs: 0 },
      { status: 500, variant: 'v2', latencyMs: 0, body: { error: 'x=500.0 is beyond what this model handles' } },
    );
  });

  it('a group is needed when there are several; an endpoint that does not exist is said so', async () => {
    const several = await invoke(['cities', '--data', '{"x": 1}']);
    assert.equal(several.code, 2);
    assert.match(several.stderr, /pipeline 'cities' has 2 groups \(lima, quito\): name one with --group/);
    const missing = await invoke(['cities', '--group', 'lima', '--data', '{"x": 1}']);
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      `mlp: no endpoint ${endpointName('cities', 'lima')}: has the pipeline gone live on SageMaker? ('mlp status' shows its rollout)\n`,
    );
    const noGroup = await invoke(['cities', '--group', 'lisbon', '--data', '{"x": 1}']);
    assert.equal(noGroup.code, 1);
    assert.match(noGroup.stderr, /pipeline 'cities' has no group 'lisbon' \(groups: lima, quito\)/);
  });

  it('without AWS credentials, says so in one sentence and exits 3', async () => {
    const r = await invoke(['forecast', '--data', '{"x": 1}'], {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    assert.equal(r.code, 3);
    assert.equal(
      r.stderr,
      `mlp: no AWS credentials for InvokeEndpoint on ${endpointName('forecast', 'default')}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run where an IAM role is available\n`,
    );
  });
});
