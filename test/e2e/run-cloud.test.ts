/**
 * `mlp run <step> --cloud` against moto (the stand-in for SageMaker and S3): the job is created
 * with the config's instance type and time limit, the code goes to S3, the verdict comes back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DescribeTrainingJobCommand, ListProcessingJobsCommand, ListTrainingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { runCli } from '../helpers/cli.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { pipelineRepo } from '../helpers/pipelines.js';

const ROLE = 'arn:aws:iam::123456789012:role/mlp-sagemaker';

describe('mlp run --cloud', () => {
  let moto: Moto;
  let repo: string;
  let sagemaker: SageMakerClient;
  let s3: S3Client;
  before(async () => {
    moto = await startMoto();
    const config = { endpoint: moto.url, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    sagemaker = new SageMakerClient(config);
    s3 = new S3Client({ ...config, forcePathStyle: true });
    repo = pipelineRepo({
      cities: ['london'],
      pipelineYaml: `pipeline:
  name: forecast
  groups:
    generate: true
    source: warehouse.cities
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/forecast:latest
  training:
    instance_type: ml.m5.2xlarge
    timeout_hours: 2
  steps:
    - name: preprocess
      command: python3 preprocess.py
    - name: train
      command: python3 train.py
`,
      extra: {
        'mlp.yaml': `warehouses:\n  warehouse: sqlite:warehouse.db\naws:\n  region: us-east-1\n  role_arn: ${ROLE}\n  bucket: team-mlp\n`,
      },
    });
  });
  after(async () => {
    await moto?.stop();
  });

  const run = (step: string) =>
    runCli('mlp', ['run', step, '--cloud'], {
      cwd: join(repo, 'forecast'),
      env: { ...moto.env, MLP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mlp-data-')) },
    });

  it('runs a processing step as a SageMaker processing job with the code in S3, creating the bucket first', async () => {
    const r = await run('preprocess');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /created the S3 bucket team-mlp/);
    const jobs = await sagemaker.send(new ListProcessingJobsCommand({}));
    assert.equal(jobs.ProcessingJobSummaries?.length, 1);
    assert.match(jobs.ProcessingJobSummaries![0]!.ProcessingJobName!, /^mlp-forecast-london-preprocess-/);
    const objects = await s3.send(new ListObjectsV2Command({ Bucket: 'team-mlp', Prefix: 'mlp/forecast/runs/' }));
    assert.ok(
      objects.Contents?.some((o) => o.Key!.endsWith('/london/preprocess/code.tar.gz')),
      JSON.stringify(objects.Contents?.map((o) => o.Key)),
    );
  });

  it('runs train as a training job with the instance type and time limit of the config', async () => {
    const r = await run('train');
    const jobs = await sagemaker.send(new ListTrainingJobsCommand({}));
    assert.equal(jobs.TrainingJobSummaries?.length, 1);
    const job = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: jobs.TrainingJobSummaries![0]!.TrainingJobName! }));
    assert.equal(job.ResourceConfig?.InstanceType, 'ml.m5.2xlarge');
    assert.equal(job.StoppingCondition?.MaxRuntimeInSeconds, 2 * 3600);
    assert.equal(job.HyperParameters?.group, 'london');
    assert.equal(job.AlgorithmSpecification?.TrainingImage, '123456789012.dkr.ecr.us-east-1.amazonaws.com/forecast:latest');
    // moto completes jobs without running them, so no model.tar.gz ever appears: the step says so.
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✖ london: train failed.*model\.tar\.gz/);
  });

  it('explains an unreachable AWS endpoint', async () => {
    const r = await runCli('mlp', ['run', 'preprocess', '--cloud'], {
      cwd: join(repo, 'forecast'),
      env: { ...moto.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:1', MLP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mlp-data-')) },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach AWS at http:\/\/127\.0\.0\.1:1/);
  });
});
