/**
 * The cloud executor against a real moto server. moto completes jobs at once and runs no
 * containers, so the tests check what mlp asks SageMaker for (read back through the SDK), what it
 * puts into and takes out of S3, and how it reports failures; a job's InProgress phase is shown by
 * rewriting DescribeTrainingJob answers in a client middleware.
 */
import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  ListTrainingJobsCommand,
  SageMakerServiceException,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createAwsClients, type AwsClients } from '../../../daemon/aws/clients.js';
import { createCloudExecutor, type CloudExecutorOptions } from '../../../daemon/executors/cloud.js';
import type { Executor, StepSpec } from '../../../daemon/executors/executor.js';
import { NEEDS_IMAGE, stepKeys } from '../../../daemon/executors/sagemaker-jobs.js';
import { pack } from '../../../daemon/executors/tarball.js';
import { startMoto, type Moto } from '../../helpers/moto.js';
import { makeRepo, writeFiles } from '../../helpers/repo.js';

const BUCKET = 'team-mlp-artifacts';
const ROLE = 'arn:aws:iam::123456789012:role/mlp-sagemaker';
const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/demand-forecast:1';
const FAST = { pollIntervalMs: 5, maxPollIntervalMs: 20 };

function stepSpec(over: Partial<StepSpec> = {}): StepSpec {
  const pipelineDir = makeRepo({
    'pipeline.yaml': 'pipeline:\n  name: demand-forecast\n',
    'train.py': 'print("training")\n',
    'steps/preprocess.py': 'print("preprocessing")\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'node_modules/left-pad/index.js': 'module.exports = 1\n',
  });
  const base = mkdtempSync(join(tmpdir(), 'mlp-cloud-test-'));
  const dirs = { model: join(base, 'model'), input: join(base, 'input'), output: join(base, 'output') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  return {
    pipeline: 'demand-forecast',
    pipelineDir,
    step: 'train',
    command: 'python3 train.py',
    group: 'london',
    runId: 'r-01jd0000000123456789abcdef',
    timeoutMs: 4 * 3600 * 1000,
    isTrain: true,
    dirs,
    image: IMAGE,
    instanceType: 'ml.m5.large',
    env: { FEATURE_SET: 'v2' },
    ...over,
  };
}

async function run(executor: Executor, spec: StepSpec, onLine?: (line: string, cancel: () => void) => void) {
  const ctl = new AbortController();
  const lines: string[] = [];
  const outcome = await executor.run(spec, {
    signal: ctl.signal,
    onLine: (_stream, line) => {
      lines.push(line);
      onLine?.(line, () => ctl.abort());
    },
  });
  return { outcome, lines };
}

/** Calls a client middleware sees: the command's name and input, and a way to change the answer. */
type Interceptor = (
  command: string,
  input: Record<string, unknown>,
  send: () => Promise<{ output: Record<string, unknown> }>,
) => Promise<{ output: Record<string, unknown> }>;

let interceptors = 0;
function intercept(client: SageMakerClient, interceptor: Interceptor) {
  client.middlewareStack.add(
    (next, context) => (args) =>
      interceptor(context.commandName as string, args.input as Record<string, unknown>, () => next(args) as never) as never,
    { step: 'initialize', name: `testIntercept${++interceptors}` },
  );
}

/** Records every SageMaker request's input by command name. */
function recordRequests(aws: AwsClients) {
  const requests = new Map<string, Record<string, unknown>[]>();
  intercept(aws.sagemaker, (command, input, send) => {
    requests.set(command, [...(requests.get(command) ?? []), input]);
    return send();
  });
  return requests;
}

/** DescribeTrainingJob says the job is still training, whatever moto says. */
function keepTraining(aws: AwsClients) {
  intercept(aws.sagemaker, async (command, _input, send) => {
    const res = await send();
    if (command === 'DescribeTrainingJobCommand')
      Object.assign(res.output, { TrainingJobStatus: 'InProgress', SecondaryStatus: 'Training', SecondaryStatusTransitions: [] });
    return res;
  });
}

async function gzipOf(files: Record<string, string>): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-tgz-'));
  writeFiles(dir, files);
  const file = join(dir, '..', `${dir.split('/').pop()}.tar.gz`);
  await pack(dir, file);
  return readFileSync(file);
}

describe('cloud executor on moto', () => {
  let moto: Moto;
  const clients = (over: Parameters<typeof createAwsClients>[0] = {}) =>
    createAwsClients({ throttleRetry: { attempts: 3, baseDelayMs: 5 }, ...over });
  const executor = (aws: AwsClients, over: Partial<CloudExecutorOptions> = {}) =>
    createCloudExecutor({ aws: { roleArn: ROLE, bucket: BUCKET }, clients: aws, ...FAST, ...over });

  before(async () => {
    moto = await startMoto();
    Object.assign(process.env, moto.env);
  });
  after(async () => {
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    await clients().s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  it('runs train as a training job sized and limited by the spec, and brings the model back', async () => {
    const aws = clients();
    const requests = recordRequests(aws);
    const spec = stepSpec();
    writeFiles(spec.dirs.input, { 'cities.csv': 'city\nlondon\n', 'more/weeks.csv': 'week\n12\n' });
    const name = 'mlp-demand-forecast-london-train-test1';
    const keys = stepKeys(spec);
    // moto reports this location but writes nothing there: put what a real job would leave.
    const artifact = `${keys.output}/${name}/output/model.tar.gz`;
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: artifact,
        Body: await gzipOf({ 'model.json': '{"weights":[1,2]}', 'sub/vocab.txt': 'a\n' }),
      }),
    );
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${keys.output}/${name}/output/output.tar.gz`,
        Body: await gzipOf({ 'metrics.json': '{"rmse":3.2}' }),
      }),
    );

    const { outcome, lines } = await run(executor(aws, { jobName: () => name }), spec);

    assert.equal(outcome.status, 'succeeded', outcome.reason ?? '');
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.artifactUri, `s3://${BUCKET}/${artifact}`);
    assert.equal(readFileSync(join(spec.dirs.model, 'model.json'), 'utf8'), '{"weights":[1,2]}');
    assert.equal(readFileSync(join(spec.dirs.model, 'sub/vocab.txt'), 'utf8'), 'a\n');
    assert.equal(readFileSync(join(spec.dirs.output, 'metrics.json'), 'utf8'), '{"rmse":3.2}');
    assert.ok(
      lines.some((l) => l === `sagemaker: training job ${name}: Completed`),
      lines.join('\n'),
    );

    const job = await aws.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    assert.equal(job.RoleArn, ROLE);
    assert.equal(job.ResourceConfig?.InstanceType, 'ml.m5.large');
    assert.equal(job.ResourceConfig?.InstanceCount, 1);
    assert.equal(job.StoppingCondition?.MaxRuntimeInSeconds, 4 * 3600);
    assert.deepEqual(job.HyperParameters, { group: 'london', run_id: spec.runId });
    assert.equal(job.AlgorithmSpecification?.TrainingImage, IMAGE);
    assert.deepEqual(job.AlgorithmSpecification?.ContainerEntrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(job.AlgorithmSpecification?.ContainerArguments?.slice(1), ['mlp-step', 'python3 train.py']);
    assert.deepEqual(
      job.InputDataConfig?.map((c) => [c.ChannelName, c.DataSource?.S3DataSource?.S3Uri]),
      [
        ['code', `s3://${BUCKET}/mlp/demand-forecast/runs/${spec.runId}/london/train/code.tar.gz`],
        ['input', `s3://${BUCKET}/mlp/demand-forecast/runs/${spec.runId}/london/train/input/`],
      ],
    );
    assert.equal(job.OutputDataConfig?.S3OutputPath, `s3://${BUCKET}/mlp/demand-forecast/runs/${spec.runId}/london/train/output`);
    // moto does not echo Environment back: check the request that went out.
    assert.deepEqual(requests.get('CreateTrainingJobCommand')?.[0]?.Environment, {
      FEATURE_SET: 'v2',
      MLP_GROUP: 'london',
      MLP_RUN_ID: spec.runId,
      MLP_MODEL_DIR: '/opt/ml/model',
      SM_MODEL_DIR: '/opt/ml/model',
      MLP_INPUT_DIR: '/opt/ml/input/data/input',
      MLP_OUTPUT_DIR: '/opt/ml/output/data',
      PYTHONUNBUFFERED: '1',
    });

    // The code is the pipeline folder without .git and node_modules; the input is there file by file.
    const code = await aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys.code }));
    const codeFile = join(mkdtempSync(join(tmpdir(), 'mlp-code-')), 'code.tar.gz');
    writeFileSync(codeFile, await code.Body!.transformToByteArray());
    const packed = execFileSync('tar', ['tzf', codeFile], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((p) => p.replace(/^\.\//, ''));
    assert.ok(packed.includes('train.py') && packed.includes('steps/preprocess.py') && packed.includes('pipeline.yaml'), packed.join(' '));
    assert.ok(!packed.some((p) => p.startsWith('.git') || p.startsWith('node_modules')), packed.join(' '));
    const input = await aws.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${keys.input}/` }));
    assert.deepEqual(input.Contents?.map((o) => o.Key).sort(), [`${keys.input}/cities.csv`, `${keys.input}/more/weeks.csv`]);
  });

  it('runs other steps as processing jobs, handing them the model and bringing their output back', async () => {
    const aws = clients();
    const requests = recordRequests(aws);
    const spec = stepSpec({ step: 'evaluate', command: 'python3 steps/evaluate.py --strict', isTrain: false, timeoutMs: 60 * 60_000 });
    writeFiles(spec.dirs.input, { 'features.csv': 'x\n1\n' });
    writeFiles(spec.dirs.model, { 'model.json': '{}' });
    const name = 'mlp-demand-forecast-london-evaluate-test2';
    const keys = stepKeys(spec);
    await aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${keys.output}/report/summary.json`, Body: '{"ok":true}' }));

    const { outcome, lines } = await run(executor(aws, { jobName: () => name }), spec);

    assert.equal(outcome.status, 'succeeded', outcome.reason ?? '');
    assert.equal(outcome.artifactUri, undefined);
    assert.equal(readFileSync(join(spec.dirs.output, 'report/summary.json'), 'utf8'), '{"ok":true}');
    assert.ok(lines.includes(`sagemaker: processing job ${name}: Completed`), lines.join('\n'));
    const job = await aws.sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }));
    assert.equal(job.AppSpecification?.ImageUri, IMAGE);
    assert.deepEqual(job.AppSpecification?.ContainerEntrypoint, ['/bin/sh', '-c']);
    // moto does not echo ProcessingResources or Environment back: check the request that went out.
    const request = requests.get('CreateProcessingJobCommand')?.[0];
    assert.deepEqual(request?.ProcessingResources, {
      ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 30 },
    });
    assert.deepEqual(request?.Environment, {
      FEATURE_SET: 'v2',
      MLP_GROUP: 'london',
      MLP_RUN_ID: spec.runId,
      MLP_MODEL_DIR: '/opt/ml/processing/model',
      SM_MODEL_DIR: '/opt/ml/processing/model',
      MLP_INPUT_DIR: '/opt/ml/processing/input',
      MLP_OUTPUT_DIR: '/opt/ml/processing/output',
      PYTHONUNBUFFERED: '1',
    });
    assert.deepEqual(job.AppSpecification?.ContainerArguments?.slice(1), ['mlp-step', 'python3 steps/evaluate.py --strict']);
    assert.equal(job.StoppingCondition?.MaxRuntimeInSeconds, 3600);
    assert.deepEqual(
      job.ProcessingInputs?.map((i) => [i.InputName, i.S3Input?.S3Uri, i.S3Input?.LocalPath]),
      [
        ['code', `s3://${BUCKET}/${keys.code}`, '/opt/ml/processing/code'],
        ['input', `s3://${BUCKET}/${keys.input}/`, '/opt/ml/processing/input'],
        ['model', `s3://${BUCKET}/${keys.model}/`, '/opt/ml/processing/model'],
      ],
    );
    assert.deepEqual(
      job.ProcessingOutputConfig?.Outputs?.map((o) => [o.OutputName, o.S3Output?.LocalPath, o.S3Output?.S3Uri]),
      [['output', '/opt/ml/processing/output', `s3://${BUCKET}/${keys.output}/`]],
    );
  });

  it('leaves out the input channel when the step has no input (SageMaker refuses empty prefixes)', async () => {
    const aws = clients();
    const name = 'mlp-no-input-test';
    const spec = stepSpec();
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${stepKeys(spec).output}/${name}/output/model.tar.gz`,
        Body: await gzipOf({ 'm.txt': '1' }),
      }),
    );
    const { outcome } = await run(executor(aws, { jobName: () => name }), spec);
    assert.equal(outcome.status, 'succeeded', outcome.reason ?? '');
    const job = await aws.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    assert.deepEqual(
      job.InputDataConfig?.map((c) => c.ChannelName),
      ['code'],
    );
  });

  it('streams input files too big to send from memory', async () => {
    const aws = clients();
    const name = 'mlp-big-input';
    const spec = stepSpec();
    const big = Buffer.alloc(9 * 1024 * 1024, 'x');
    writeFiles(spec.dirs.input, { 'big.csv': big.toString() });
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${stepKeys(spec).output}/${name}/output/model.tar.gz`,
        Body: await gzipOf({ 'm.txt': '1' }),
      }),
    );
    const { outcome } = await run(executor(aws, { jobName: () => name }), spec);
    assert.equal(outcome.status, 'succeeded', outcome.reason ?? '');
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${stepKeys(spec).input}/` }));
    assert.deepEqual(
      listed.Contents?.map((o) => o.Size),
      [big.length],
    );
  });

  it('fails a completed training job whose model is not in S3', async () => {
    const { outcome } = await run(executor(clients(), { jobName: () => 'mlp-no-model' }), stepSpec());
    assert.equal(outcome.status, 'failed');
    assert.match(
      outcome.reason!,
      /training job mlp-no-model completed but its model s3:\/\/.*\/mlp-no-model\/output\/model\.tar\.gz is not in S3/,
    );
  });

  it('refuses a step without an image before touching AWS', async () => {
    const aws = clients();
    const { outcome } = await run(executor(aws), stepSpec({ image: undefined }));
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.reason, NEEDS_IMAGE);
    assert.equal((await aws.sagemaker.send(new ListTrainingJobsCommand({}))).TrainingJobSummaries?.length, 0);
  });

  it('says it cannot reach AWS when nothing listens at AWS_ENDPOINT_URL', async () => {
    const aws = clients({ env: { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:1' } });
    const { outcome } = await run(executor(aws), stepSpec());
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.reason!, /^step 'train': cannot reach AWS at http:\/\/127\.0\.0\.1:1 for PutObject: connect ECONNREFUSED/);
  });

  it('creates the bucket when it does not exist, and says so', async () => {
    const aws = clients();
    const { lines } = await run(createCloudExecutor({ aws: { roleArn: ROLE, bucket: 'fresh-bucket' }, clients: aws, ...FAST }), stepSpec());
    assert.ok(lines.includes('sagemaker: created the S3 bucket fresh-bucket (aws.bucket in mlp.yaml)'), lines.join('\n'));
    await aws.s3.send(new HeadBucketCommand({ Bucket: 'fresh-bucket' }));
  });

  it('says which credentials are missing', async () => {
    const saved = { ...process.env };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(tmpdir(), 'mlp-no-such-credentials');
    process.env.AWS_CONFIG_FILE = join(tmpdir(), 'mlp-no-such-config');
    try {
      const { outcome } = await run(executor(clients()), stepSpec());
      assert.equal(outcome.status, 'failed');
      assert.match(outcome.reason!, /no AWS credentials for PutObject: .*set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE/);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it('stops a running job when the step is cancelled, and says clearly that moto cannot stop it', async () => {
    const aws = clients();
    keepTraining(aws);
    const { outcome, lines } = await run(executor(aws, { jobName: () => 'mlp-cancel-me' }), stepSpec(), (line, cancel) => {
      if (line.endsWith(': Training')) cancel();
    });
    assert.equal(outcome.status, 'cancelled');
    assert.ok(lines.includes('sagemaker: training job mlp-cancel-me: Training'), lines.join('\n'));
    assert.equal(
      outcome.reason,
      `step 'train' was cancelled, but stopping training job mlp-cancel-me failed: SageMaker endpoint at ${moto.url} does not implement StopTrainingJob (HTTP 500); stop it in the SageMaker console`,
    );
  });

  it('creates no job when the step is cancelled while its files upload', async () => {
    const aws = clients();
    const spec = stepSpec();
    writeFiles(spec.dirs.input, { 'a.csv': 'x\n' });
    const { outcome } = await run(executor(aws), spec, (line, cancel) => {
      if (line.includes('code of')) cancel();
    });
    assert.deepEqual([outcome.status, outcome.reason], ['cancelled', "step 'train' was cancelled"]);
    assert.equal((await aws.sagemaker.send(new ListTrainingJobsCommand({}))).TrainingJobSummaries?.length, 0);
  });

  it('stops waiting, and stops the job, once the timeout and its grace have passed', async () => {
    const aws = clients();
    keepTraining(aws);
    const requests = recordRequests(aws);
    const started = Date.now();
    const { outcome } = await run(executor(aws, { jobName: () => 'mlp-too-slow', timeoutGraceMs: 200 }), stepSpec({ timeoutMs: 300 }));
    assert.equal(outcome.status, 'timed_out');
    assert.ok(Date.now() - started >= 500);
    assert.match(
      outcome.reason!,
      /^step 'train' did not finish within its limit of 300ms \(plus 200ms grace\), but stopping training job mlp-too-slow failed: .*does not implement StopTrainingJob/,
    );
    assert.deepEqual(requests.get('CreateTrainingJobCommand')?.[0]?.StoppingCondition, { MaxRuntimeInSeconds: 1 });
    assert.equal(requests.get('StopTrainingJobCommand')?.length, 1);
  });

  it('rides out a few failed polls, and gives up on a job it cannot see any more', async () => {
    const flaky = (aws: AwsClients, failures: number) => {
      let n = 0;
      intercept(aws.sagemaker, (command, _input, send) => {
        if (command === 'DescribeTrainingJobCommand' && n++ < failures)
          throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
        return send();
      });
    };
    const aws = clients();
    flaky(aws, 2);
    const { outcome, lines } = await run(executor(aws, { jobName: () => 'mlp-flaky' }), stepSpec());
    assert.match(outcome.reason ?? '', /training job mlp-flaky completed but its model/); // it saw the job end
    assert.equal(lines.filter((l) => l.endsWith('(trying again)')).length, 2);

    const gone = clients();
    flaky(gone, 100);
    const r = await run(executor(gone, { jobName: () => 'mlp-gone', pollFailuresTolerated: 1 }), stepSpec());
    assert.equal(r.outcome.status, 'failed');
    assert.match(
      r.outcome.reason!,
      /^step 'train': lost track of training job mlp-gone, which may still be running: cannot reach AWS at http:\/\/127\.0\.0\.1:\d+ for DescribeTrainingJob: read ECONNRESET$/,
    );
  });

  it('tries a throttled call again, and gives up with a clear message when throttling goes on', async () => {
    const throttled = (aws: AwsClients, times: number) => {
      let n = 0;
      intercept(aws.sagemaker, (command, _input, send) => {
        if (command === 'CreateTrainingJobCommand' && n++ < times) {
          throw new SageMakerServiceException({
            name: 'ThrottlingException',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
            message: 'Rate exceeded',
          });
        }
        return send();
      });
      return () => n;
    };
    const aws = clients();
    const attempts = throttled(aws, 2);
    const { outcome } = await run(executor(aws, { jobName: () => 'mlp-throttled' }), stepSpec());
    assert.equal(attempts(), 3);
    // It got through: the job exists (and only fails for want of a model in S3).
    assert.match(outcome.reason ?? '', /training job mlp-throttled completed but its model/);

    const always = clients();
    throttled(always, 100);
    const r = await run(executor(always, { jobName: () => 'mlp-throttled-2' }), stepSpec());
    assert.equal(r.outcome.status, 'failed');
    assert.equal(
      r.outcome.reason,
      "step 'train': AWS kept throttling CreateTrainingJob (ThrottlingException), retries did not help: Rate exceeded",
    );
  });
});
