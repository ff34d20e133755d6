// Training and processing jobs on the SageMaker stand-in: the job's image runs in the local Docker
// engine with SageMaker's /opt/ml layout; a trained model.tar.gz is then served by an endpoint.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeEndpointCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
  StopTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '../helpers/moto.js';
import { buildServingImage, removeImage, startStandin, type Standin } from '../helpers/sagemaker-standin.js';
import { TEST_IMAGE } from '../helpers/services.js';

const SERVING_IMAGE = `mlp-standin-serve-jobs:${process.pid}`;
const BUCKET = 'ml-jobs';
const ROLE = 'arn:aws:iam::123456789012:role/sagemaker';

let moto: Moto;
let standin: Standin;
let sagemaker: SageMakerClient;
let s3: S3Client;

before(async () => {
  [moto] = await Promise.all([startMoto(), buildServingImage(SERVING_IMAGE)]);
  standin = await startStandin(moto);
  const config = {
    endpoint: standin.url,
    region: moto.env.AWS_REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  };
  sagemaker = new SageMakerClient(config);
  s3 = new S3Client({ ...config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'data/train/rows.json', Body: JSON.stringify([1, 2, 3, 4]) }));
});

after(async () => {
  await standin?.stop();
  await moto?.stop();
  await removeImage(SERVING_IMAGE);
});

function trainingJob(name: string, script: string, extra: { maxRuntimeS?: number } = {}) {
  return new CreateTrainingJobCommand({
    TrainingJobName: name,
    RoleArn: ROLE,
    AlgorithmSpecification: {
      TrainingImage: TEST_IMAGE,
      TrainingInputMode: 'File',
      ContainerEntrypoint: ['/bin/sh', '-c'],
      ContainerArguments: [script],
    },
    InputDataConfig: [
      { ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/data/train/` } } },
    ],
    OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/output` },
    ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: extra.maxRuntimeS ?? 600 },
    HyperParameters: { scale: '5' },
    Environment: { MODEL_VERSION: 'trained-1' },
  });
}

async function waitForJob(name: string, timeoutMs = 30_000): Promise<DescribeTrainingJobCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    if (!['InProgress', 'Stopping'].includes(d.TrainingJobStatus!)) return d;
    if (Date.now() > deadline) assert.fail(`training job ${name} still ${d.TrainingJobStatus} after ${timeoutMs} ms\n${standin.log()}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

// Reads the channel and the hyperparameters, writes a model the serving image's `serve` loads.
const TRAIN = `python3 -c '
import json, os
rows = json.load(open("/opt/ml/input/data/train/rows.json"))
hp = json.load(open("/opt/ml/input/config/hyperparameters.json"))
json.dump({"version": os.environ["MODEL_VERSION"], "scale": int(hp["scale"]) * len(rows)}, open("/opt/ml/model/model.json", "w"))
'`;

describe('SageMaker stand-in jobs', () => {
  test('a training job runs its image on its channels and hyperparameters; its model.tar.gz is served by an endpoint', async () => {
    await sagemaker.send(trainingJob('train-ok', TRAIN));
    assert.equal((await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'train-ok' }))).TrainingJobStatus, 'InProgress');
    const done = await waitForJob('train-ok');
    assert.equal(done.TrainingJobStatus, 'Completed', done.FailureReason);
    assert.equal(done.ModelArtifacts?.S3ModelArtifacts, `s3://${BUCKET}/output/train-ok/output/model.tar.gz`);
    const statuses = done.SecondaryStatusTransitions!.map((t) => t.Status);
    assert.deepEqual(statuses, ['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);

    await sagemaker.send(
      new CreateModelCommand({
        ModelName: 'trained',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: SERVING_IMAGE, ModelDataUrl: done.ModelArtifacts!.S3ModelArtifacts },
      }),
    );
    await sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'trained-1',
        ProductionVariants: [
          { VariantName: 'only', ModelName: 'trained', InitialVariantWeight: 1, InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
        ],
      }),
    );
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: 'trained', EndpointConfigName: 'trained-1' }));
    const deadline = Date.now() + 30_000;
    while ((await sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'trained' }))).EndpointStatus !== 'InService') {
      assert.ok(Date.now() < deadline, `endpoint not InService\n${standin.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const runtime = new SageMakerRuntimeClient({
      endpoint: standin.url,
      region: moto.env.AWS_REGION,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const out = await runtime.send(
      new InvokeEndpointCommand({ EndpointName: 'trained', Body: '{"x": 2}', ContentType: 'application/json' }),
    );
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode(out.Body)),
      { y: 40, version: 'trained-1', label: null },
      'scale 5 x 4 rows, learnt in the job',
    );
  });

  test('a failing training job is Failed with what it wrote to /opt/ml/output/failure, and has no artifact', async () => {
    await sagemaker.send(trainingJob('train-bad', 'echo "the train channel has no rows for london" > /opt/ml/output/failure; exit 3'));
    const done = await waitForJob('train-bad');
    assert.equal(done.TrainingJobStatus, 'Failed');
    assert.match(done.FailureReason!, /^AlgorithmError: the train channel has no rows for london$/);
    assert.equal(done.ModelArtifacts, undefined);

    await sagemaker.send(trainingJob('train-crash', 'exit 7'));
    assert.equal((await waitForJob('train-crash')).FailureReason, 'AlgorithmError: exit code: 7');
  });

  test('a training job beyond MaxRuntimeInSeconds is Stopped with MaxRuntimeExceeded', async () => {
    await sagemaker.send(trainingJob('train-slow', 'sleep 60', { maxRuntimeS: 1 }));
    const done = await waitForJob('train-slow');
    assert.equal(done.TrainingJobStatus, 'Stopped');
    assert.equal(done.SecondaryStatus, 'MaxRuntimeExceeded');
  });

  test('StopTrainingJob stops the container: Stopped, not MaxRuntimeExceeded', async () => {
    await sagemaker.send(trainingJob('train-stopped', 'sleep 60'));
    const deadline = Date.now() + 30_000;
    while ((await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'train-stopped' }))).SecondaryStatus !== 'Training') {
      assert.ok(Date.now() < deadline, `the job never started training\n${standin.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await sagemaker.send(new StopTrainingJobCommand({ TrainingJobName: 'train-stopped' }));
    const done = await waitForJob('train-stopped');
    assert.equal(done.TrainingJobStatus, 'Stopped');
    assert.equal(done.SecondaryStatus, 'Stopped');
  });

  test('a processing job reads its inputs at their LocalPath and its outputs are uploaded at the end', async () => {
    await sagemaker.send(
      new CreateProcessingJobCommand({
        ProcessingJobName: 'check-rows',
        RoleArn: ROLE,
        AppSpecification: {
          ImageUri: TEST_IMAGE,
          ContainerEntrypoint: ['/bin/sh', '-c'],
          ContainerArguments: [
            'wc -c < /opt/ml/processing/input/rows.json > /opt/ml/processing/output/size.txt && echo "checked $ROWS" > /opt/ml/output/message',
          ],
        },
        ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 10 } },
        ProcessingInputs: [
          {
            InputName: 'input',
            S3Input: {
              S3Uri: `s3://${BUCKET}/data/train/`,
              LocalPath: '/opt/ml/processing/input',
              S3DataType: 'S3Prefix',
              S3InputMode: 'File',
            },
          },
        ],
        ProcessingOutputConfig: {
          Outputs: [
            {
              OutputName: 'out',
              S3Output: { S3Uri: `s3://${BUCKET}/checks/`, LocalPath: '/opt/ml/processing/output', S3UploadMode: 'EndOfJob' },
            },
          ],
        },
        Environment: { ROWS: 'rows.json' },
      }),
    );
    const deadline = Date.now() + 30_000;
    let d = await sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'check-rows' }));
    while (d.ProcessingJobStatus === 'InProgress') {
      assert.ok(Date.now() < deadline, `processing job still running\n${standin.log()}`);
      await new Promise((r) => setTimeout(r, 150));
      d = await sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'check-rows' }));
    }
    assert.equal(d.ProcessingJobStatus, 'Completed', d.FailureReason);
    assert.equal(d.ExitMessage?.trim(), 'checked rows.json');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'checks/' }));
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      ['checks/size.txt'],
    );
    const size = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'checks/size.txt' }))).Body!.transformToString();
    assert.equal(size.trim(), String(JSON.stringify([1, 2, 3, 4]).length));
  });

  test('no job container is left behind', () => {
    const left = spawnSync('docker', ['ps', '-aq', '--filter', 'label=mlp.sagemaker-standin.job'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(left, '');
  });
});
