// The SageMaker stand-in, driven through the real AWS SDK v3 clients (and boto3) by their standard
// endpoint variables, with real model containers in the local Docker engine and moto behind it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  SageMakerClient,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
  type DescribeEndpointCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { motoPython, startMoto, type Moto } from '../helpers/moto.js';
import { buildServingImage, modelTarball, removeImage, startStandin, type Standin } from '../helpers/sagemaker-standin.js';

const IMAGE = `mlp-standin-serve:${process.pid}`;
const BUCKET = 'models';
const ROLE = 'arn:aws:iam::123456789012:role/sagemaker';
const CAPTURE = `s3://${BUCKET}/mlp/demand/capture`;

let moto: Moto;
let standin: Standin;
let sagemaker: SageMakerClient;
let runtime: SageMakerRuntimeClient;
let s3: S3Client;
let cloudwatch: CloudWatchClient;
const saved: Record<string, string | undefined> = {};

before(async () => {
  [moto] = await Promise.all([startMoto(), buildServingImage(IMAGE)]);
  standin = await startStandin(moto, { transitionMs: 300 });
  // The clients find the stand-in the way the product's clients would: by the standard variables only.
  for (const [k, v] of Object.entries(standin.env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  sagemaker = new SageMakerClient({});
  runtime = new SageMakerRuntimeClient({});
  s3 = new S3Client({ forcePathStyle: true });
  cloudwatch = new CloudWatchClient({});
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await Promise.all([
    model('demand-v1', { version: 'v1', scale: 2 }, { MODEL_LABEL: 'first' }),
    model('demand-v2', { version: 'v2', scale: 3, fail_above: 100 }),
    model('demand-v3', { version: 'v3', scale: 4 }),
  ]);
  await endpointConfig('demand-1', [
    ['primary', 'demand-v1', 1],
    ['candidate', 'demand-v2', 0],
  ]);
  await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'demand', EndpointConfigName: 'demand-1' }));
  await waitForStatus('demand', 'InService');
});

after(async () => {
  await standin?.stop();
  await moto?.stop();
  await removeImage(IMAGE);
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

async function model(name: string, spec: object, environment: Record<string, string> = {}) {
  const key = `artifacts/${name}/model.tar.gz`;
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: modelTarball({ 'model.json': JSON.stringify(spec) }) }));
  await sagemaker.send(
    new CreateModelCommand({
      ModelName: name,
      ExecutionRoleArn: ROLE,
      PrimaryContainer: { Image: IMAGE, ModelDataUrl: `s3://${BUCKET}/${key}`, Environment: environment },
    }),
  );
}

async function endpointConfig(name: string, variants: [string, string, number][]) {
  await sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: variants.map(([VariantName, ModelName, InitialVariantWeight]) => ({
        VariantName,
        ModelName,
        InitialVariantWeight,
        InstanceType: 'ml.m5.large',
        InitialInstanceCount: 1,
      })),
      DataCaptureConfig: {
        EnableCapture: true,
        InitialSamplingPercentage: 100,
        DestinationS3Uri: CAPTURE,
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        CaptureContentTypeHeader: { JsonContentTypes: ['application/json'] },
      },
    }),
  );
}

async function waitForStatus(name: string, status: string, timeoutMs = 30_000): Promise<DescribeEndpointCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }));
    if (d.EndpointStatus === status) return d;
    if (d.EndpointStatus === 'Failed' && status !== 'Failed') assert.fail(`endpoint ${name} failed: ${d.FailureReason}\n${standin.log()}`);
    if (Date.now() > deadline)
      assert.fail(`endpoint ${name} is ${d.EndpointStatus}, not ${status}, after ${timeoutMs} ms\n${standin.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function invoke(endpoint: string, x: number, extra: { TargetVariant?: string; InferenceId?: string } = {}) {
  const out = await runtime.send(
    new InvokeEndpointCommand({ EndpointName: endpoint, Body: JSON.stringify({ x }), ContentType: 'application/json', ...extra }),
  );
  return { variant: out.InvokedProductionVariant, contentType: out.ContentType, body: JSON.parse(new TextDecoder().decode(out.Body)) };
}

function weights(d: DescribeEndpointCommandOutput) {
  return Object.fromEntries((d.ProductionVariants ?? []).map((v) => [v.VariantName, v.CurrentWeight]));
}

describe('SageMaker stand-in', () => {
  test("InvokeEndpoint is answered by the live variant's container; the weight-0 variant only through TargetVariant", async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => invoke('demand', i)));
    assert.deepEqual(new Set(answers.map((a) => a.variant)), new Set(['primary']));
    assert.deepEqual(
      answers[5]!.body,
      { y: 10, version: 'v1', label: 'first' },
      'the model from model.tar.gz and the PrimaryContainer Environment',
    );
    assert.equal(answers[5]!.contentType, 'application/json');

    const pinned = await invoke('demand', 5, { TargetVariant: 'candidate' });
    assert.equal(pinned.variant, 'candidate');
    assert.deepEqual(pinned.body, { y: 15, version: 'v2', label: null });
    assert.deepEqual(weights(await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'demand' }))), { primary: 1, candidate: 0 });
  });

  test('a model answering 500 gives 424 ModelError; an unknown endpoint or variant gives 400 ValidationError', async () => {
    await assert.rejects(invoke('demand', 500, { TargetVariant: 'candidate' }), (err: any) => {
      assert.equal(err.name, 'ModelError');
      assert.equal(err.$metadata.httpStatusCode, 424);
      assert.equal(err.OriginalStatusCode, 500);
      assert.match(err.OriginalMessage, /beyond what this model handles/);
      assert.match(err.message, /Received server error \(500\) from primary/);
      return true;
    });
    await assert.rejects(
      invoke('nowhere', 1),
      (err: any) => err.name === 'ValidationError' && err.$metadata.httpStatusCode === 400 && /nowhere/.test(err.message),
    );
    await assert.rejects(
      invoke('demand', 1, { TargetVariant: 'ghost' }),
      (err: any) => err.name === 'ValidationError' && /ghost/.test(err.message),
    );
  });

  test('UpdateEndpointWeightsAndCapacities: Updating, then the traffic moves and DescribeEndpoint reads the weights back', async () => {
    await sagemaker.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: 'demand',
        DesiredWeightsAndCapacities: [
          { VariantName: 'primary', DesiredWeight: 1 },
          { VariantName: 'candidate', DesiredWeight: 1 },
        ],
      }),
    );
    const during = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'demand' }));
    assert.equal(during.EndpointStatus, 'Updating');
    assert.deepEqual(weights(during), { primary: 1, candidate: 0 }, 'the old weights serve until the update is done');
    const done = await waitForStatus('demand', 'InService');
    assert.deepEqual(weights(done), { primary: 1, candidate: 1 });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => invoke('demand', i)));
    const counts = { primary: 0, candidate: 0 } as Record<string, number>;
    for (const a of answers) counts[a.variant!]!++;
    assert.ok(counts.primary! > 5 && counts.candidate! > 5, `both variants get traffic at 1:1, got ${JSON.stringify(counts)}`);
  });

  test("Data Capture records land in S3 in SageMaker's layout and format", async () => {
    await invoke('demand', 7, { TargetVariant: 'candidate', InferenceId: 'req-7' });
    await standin.flush();
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'mlp/demand/capture/demand/candidate/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    assert.ok(keys.length > 0, `capture objects for the candidate\n${standin.log()}`);
    for (const key of keys)
      assert.match(key, /^mlp\/demand\/capture\/demand\/candidate\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$/);
    const records = (
      await Promise.all(
        keys.map(async (Key) =>
          (await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body!.transformToString()).trim().split('\n'),
        ),
      )
    )
      .flat()
      .map((line) => JSON.parse(line));
    const record = records.find((r) => r.eventMetadata.inferenceId === 'req-7');
    assert.ok(record, 'the record of the request with InferenceId req-7');
    assert.deepEqual(record.captureData.endpointInput, {
      observedContentType: 'application/json',
      mode: 'INPUT',
      data: '{"x":7}',
      encoding: 'JSON',
    });
    assert.equal(record.captureData.endpointOutput.mode, 'OUTPUT');
    assert.deepEqual(JSON.parse(record.captureData.endpointOutput.data), { y: 21, version: 'v2', label: null });
    assert.equal(record.eventVersion, '0');
    assert.match(record.eventMetadata.eventId, /^[0-9a-f-]{36}$/);
    assert.match(record.eventMetadata.inferenceTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const failed = records.filter((r) => JSON.parse(r.captureData.endpointInput.data).x === 500);
    assert.equal(failed.length, 0, 'a failed invocation is not captured');
  });

  test('per-variant metrics are readable with GetMetricData in AWS/SageMaker', async () => {
    await standin.flush();
    const dims = (variant: string) => [
      { Name: 'EndpointName', Value: 'demand' },
      { Name: 'VariantName', Value: variant },
    ];
    const query = (Id: string, MetricName: string, variant: string, Stat: string) => ({
      Id,
      MetricStat: { Metric: { Namespace: 'AWS/SageMaker', MetricName, Dimensions: dims(variant) }, Period: 60, Stat },
    });
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(Date.now() - 10 * 60_000),
        EndTime: new Date(Date.now() + 60_000),
        MetricDataQueries: [
          query('candidate5xx', 'Invocation5XXErrors', 'candidate', 'Sum'),
          query('candidateInvocations', 'Invocations', 'candidate', 'Sum'),
          query('primary5xx', 'Invocation5XXErrors', 'primary', 'Sum'),
          query('primaryInvocations', 'Invocations', 'primary', 'Sum'),
          query('primaryLatency', 'ModelLatency', 'primary', 'Average'),
        ],
      }),
    );
    const sum = (id: string) => (out.MetricDataResults ?? []).find((r) => r.Id === id)!.Values!.reduce((a, b) => a + b, 0);
    assert.equal(sum('candidate5xx'), 1, 'the one 500 of the candidate');
    assert.ok(sum('candidateInvocations') >= 3, `candidate invocations: ${sum('candidateInvocations')}`);
    assert.equal(sum('primary5xx'), 0);
    assert.ok(sum('primaryInvocations') >= 20, `primary invocations: ${sum('primaryInvocations')}`);
    assert.ok(sum('primaryLatency') > 0, 'ModelLatency in microseconds');
  });

  test('UpdateEndpoint switches configs: Updating while the old config serves, then InService on the new one', async () => {
    await endpointConfig('demand-2', [['next', 'demand-v3', 1]]);
    await sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'demand', EndpointConfigName: 'demand-2' }));
    const during = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'demand' }));
    assert.equal(during.EndpointStatus, 'Updating');
    assert.equal(during.EndpointConfigName, 'demand-1');
    assert.notEqual((await invoke('demand', 1)).body.version, 'v3', 'the old config answers during the update');
    await assert.rejects(
      sagemaker.send(
        new UpdateEndpointWeightsAndCapacitiesCommand({
          EndpointName: 'demand',
          DesiredWeightsAndCapacities: [{ VariantName: 'primary', DesiredWeight: 2 }],
        }),
      ),
      (err: any) => err.name === 'ValidationException' && /in-progress/.test(err.message),
    );
    const done = await waitForStatus('demand', 'InService');
    assert.equal(done.EndpointConfigName, 'demand-2');
    assert.deepEqual(weights(done), { next: 1 });
    assert.deepEqual(await invoke('demand', 1), {
      variant: 'next',
      contentType: 'application/json',
      body: { y: 4, version: 'v3', label: null },
    });
    assert.equal(containers('demand').length, 1, "the old config's containers are gone");
  });

  test('an endpoint whose container does not pass /ping goes Failed with the reason', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'artifacts/broken/model.tar.gz', Body: modelTarball({ README: 'no model.json here' }) }),
    );
    await sagemaker.send(
      new CreateModelCommand({
        ModelName: 'broken',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: IMAGE, ModelDataUrl: `s3://${BUCKET}/artifacts/broken/model.tar.gz` },
      }),
    );
    await endpointConfig('broken-1', [['only', 'broken', 1]]);
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'broken', EndpointConfigName: 'broken-1' }));
    assert.equal((await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'broken' }))).EndpointStatus, 'Creating');
    const failed = await waitForStatus('broken', 'Failed');
    assert.match(failed.FailureReason!, /variant only exited .*model\.json/s);
    assert.equal(containers('broken').length, 0);
  });

  test('an UpdateEndpoint whose new containers fail leaves the old config serving, with the FailureReason', async () => {
    await endpointConfig('demand-broken', [['next', 'broken', 1]]);
    await sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'demand', EndpointConfigName: 'demand-broken' }));
    const deadline = Date.now() + 30_000;
    let d = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'demand' }));
    while (d.EndpointStatus === 'Updating') {
      assert.ok(Date.now() < deadline, 'the update ends');
      await new Promise((r) => setTimeout(r, 100));
      d = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'demand' }));
    }
    assert.equal(d.EndpointStatus, 'InService');
    assert.equal(d.EndpointConfigName, 'demand-2');
    assert.match(d.FailureReason!, /variant next exited/);
    assert.equal((await invoke('demand', 1)).body.version, 'v3');
    assert.equal(containers('demand').length, 1);
  });

  test("injected throttling and access denied come back as the SDK's exceptions; throttling is retried", async () => {
    const once = new SageMakerClient({ maxAttempts: 1 });
    await standin.inject({ action: 'DescribeEndpoint', error: 'ThrottlingException', count: 1 });
    await assert.rejects(
      once.send(new DescribeEndpointCommand({ EndpointName: 'demand' })),
      (err: any) => err.name === 'ThrottlingException' && err.$metadata.httpStatusCode === 400,
    );
    assert.equal(
      (await once.send(new DescribeEndpointCommand({ EndpointName: 'demand' }))).EndpointStatus,
      'InService',
      'only the next call failed',
    );

    await standin.inject({ action: 'DescribeEndpoint', error: 'ThrottlingException', count: 2 });
    const retrying = new SageMakerClient({ maxAttempts: 3 });
    const d = await retrying.send(new DescribeEndpointCommand({ EndpointName: 'demand' }));
    assert.equal(d.$metadata.attempts, 3, 'the SDK retried the throttled calls');

    await standin.inject({ action: 'UpdateEndpointWeightsAndCapacities', error: 'AccessDeniedException' });
    await assert.rejects(
      once.send(
        new UpdateEndpointWeightsAndCapacitiesCommand({
          EndpointName: 'demand',
          DesiredWeightsAndCapacities: [{ VariantName: 'next', DesiredWeight: 2 }],
        }),
      ),
      (err: any) => err.name === 'AccessDeniedException' && /not authorized/.test(err.message),
    );
    await standin.inject({ action: 'InvokeEndpoint', error: 'ThrottlingException' });
    await assert.rejects(
      new SageMakerRuntimeClient({ maxAttempts: 1 }).send(
        new InvokeEndpointCommand({ EndpointName: 'demand', Body: '{"x":1}', ContentType: 'application/json' }),
      ),
      (err: any) => err.name === 'ThrottlingException',
    );
    await standin.inject({ action: 'GetMetricData', error: 'ThrottlingException' });
    await assert.rejects(
      new CloudWatchClient({ maxAttempts: 1 }).send(
        new GetMetricDataCommand({ StartTime: new Date(Date.now() - 60_000), EndTime: new Date(), MetricDataQueries: [] }),
      ),
      (err: any) => err.name === 'ThrottlingException',
    );
  });

  test('boto3 reaches the same endpoint through the same variables', () => {
    const script = [
      'import boto3, json',
      'out = boto3.client("sagemaker-runtime").invoke_endpoint(EndpointName="demand", TargetVariant="next", ContentType="application/json", Body=json.dumps({"x": 2}))',
      'print(json.dumps({"variant": out["InvokedProductionVariant"], "body": json.loads(out["Body"].read())}))',
    ].join('\n');
    const py = spawnSync(motoPython(), ['-c', script], { env: { ...process.env, ...standin.env }, encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout), { variant: 'next', body: { y: 8, version: 'v3', label: null } });
  });

  test('DeleteEndpoint removes its containers; the endpoint is then unknown', async () => {
    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: 'demand' }));
    assert.equal(containers('demand').length, 0);
    await assert.rejects(invoke('demand', 1), (err: any) => err.name === 'ValidationError');
  });
});

function containers(endpoint: string): string[] {
  const r = spawnSync('docker', ['ps', '-aq', '--filter', `label=mlp.sagemaker-standin.endpoint=${endpoint}`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}
