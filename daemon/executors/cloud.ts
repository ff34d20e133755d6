/**
 * The cloud executor: the step runs as a SageMaker job. `train` is a training job (so SageMaker
 * packs MLP_MODEL_DIR into model.tar.gz), every other step a processing job. The code, input and
 * results travel through S3 (layout in sagemaker-jobs.ts stepKeys); the model comes back into
 * `dirs.model` so the runner versions it like a local one. See docs/cloud.md.
 */
import {
  CreateProcessingJobCommand,
  CreateTrainingJobCommand,
  DescribeProcessingJobCommand,
  DescribeTrainingJobCommand,
  StopProcessingJobCommand,
  StopTrainingJobCommand,
  type DescribeProcessingJobResponse,
  type DescribeTrainingJobResponse,
} from '@aws-sdk/client-sagemaker';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration } from '../../shared/duration.js';
import { describeError, MlpError } from '../../shared/errors.js';
import { createAwsClients, type AwsClients } from '../aws/clients.js';
import { awsCall, isAbort } from '../aws/errors.js';
import { downloadFile, downloadPrefix, ensureBucket, parseS3Uri, s3Uri, uploadDir, uploadFile } from '../aws/s3.js';
import { TAIL_LINES, type Executor, type StepIO, type StepOutcome, type StepSpec } from './executor.js';
import {
  jobName as defaultJobName,
  NEEDS_IMAGE,
  processingJobRequest,
  processingJobVerdict,
  stepKeys,
  trainingJobRequest,
  trainingJobVerdict,
  trainingProgress,
  type JobKind,
  type JobPlan,
  type JobVerdict,
} from './sagemaker-jobs.js';
import { pack, unpack } from './tarball.js';

export interface CloudExecutorOptions {
  aws: { region?: string; roleArn: string; bucket: string };
  /** First wait between DescribeXJob polls; each wait doubles up to maxPollIntervalMs. */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /**
   * SageMaker enforces the step's timeout itself (MaxRuntimeInSeconds); mlp stops waiting, and stops
   * the job, this long after it, which covers instance start-up and the model upload.
   */
  timeoutGraceMs?: number;
  /** How many DescribeXJob failures in a row are tolerated (a network blip must not fail a 4-hour job). */
  pollFailuresTolerated?: number;
  /** Default: built from AWS_REGION / AWS_ENDPOINT_URL and the default credentials chain on first use. */
  clients?: AwsClients;
  /** Names the job (default sagemaker-jobs.ts jobName); tests fix it to know the job's S3 paths ahead. */
  jobName?: (spec: StepSpec) => string;
}

const DEFAULTS = { pollIntervalMs: 5_000, maxPollIntervalMs: 30_000, timeoutGraceMs: 15 * 60_000, pollFailuresTolerated: 5 };

export function createCloudExecutor(opts: CloudExecutorOptions): Executor {
  let clients = opts.clients;
  const settings = { ...DEFAULTS, ...definedOnly(opts) };
  return {
    kind: 'cloud',
    run(spec, io) {
      clients ??= createAwsClients(opts.aws.region ? { region: opts.aws.region } : {});
      return runStep(clients, opts, settings, spec, io);
    },
  };
}

type Settings = typeof DEFAULTS;

/** One job kind's calls, so the run below reads the same for training and processing. */
interface JobApi {
  kind: JobKind;
  create(): Promise<unknown>;
  describe(): Promise<DescribeTrainingJobResponse | DescribeProcessingJobResponse>;
  stop(): Promise<unknown>;
  verdict(d: DescribeTrainingJobResponse | DescribeProcessingJobResponse): JobVerdict;
  progress(d: DescribeTrainingJobResponse | DescribeProcessingJobResponse): string[];
}

async function runStep(aws: AwsClients, opts: CloudExecutorOptions, settings: Settings, spec: StepSpec, io: StepIO): Promise<StepOutcome> {
  const what = `step '${spec.step}'`;
  const tail: string[] = [];
  const say = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    io.onLine('stdout', `sagemaker: ${line}`);
  };
  const outcome = (status: StepOutcome['status'], reason: string | null, extra: Partial<StepOutcome> = {}): StepOutcome => ({
    status,
    exitCode: status === 'succeeded' ? 0 : null,
    reason,
    tail,
    ...extra,
  });
  const cancelled = () => outcome('cancelled', `${what} was cancelled`);

  const image = spec.image;
  if (!image) return outcome('failed', NEEDS_IMAGE);
  const { bucket, roleArn } = opts.aws;
  const keys = stepKeys(spec);
  const tmp = mkdtempSync(join(tmpdir(), 'mlp-cloud-'));
  const signal = io.signal;
  try {
    if (signal.aborted) return cancelled();
    const codeFile = join(tmp, 'code.tar.gz');
    await pack(spec.pipelineDir, codeFile);
    if (await ensureBucket(aws, bucket, signal)) say(`created the S3 bucket ${bucket} (aws.bucket in mlp.yaml)`);
    await uploadFile(aws, codeFile, { bucket, key: keys.code }, signal);
    say(`code of ${spec.pipelineDir} uploaded to ${s3Uri(bucket, keys.code)}`);
    const inputFiles = await uploadDir(aws, spec.dirs.input, { bucket, key: keys.input }, signal);
    if (inputFiles) say(`${inputFiles} input file(s) uploaded to ${s3Uri(bucket, keys.input)}/`);
    const modelFiles = spec.isTrain ? 0 : await uploadDir(aws, spec.dirs.model, { bucket, key: keys.model }, signal);
    if (modelFiles) say(`${modelFiles} model file(s) uploaded to ${s3Uri(bucket, keys.model)}/`);
    if (signal.aborted) return cancelled();

    const plan = { name: (opts.jobName ?? defaultJobName)(spec), roleArn, bucket, hasInput: inputFiles > 0, hasModel: modelFiles > 0 };
    const api = spec.isTrain ? trainingApi(aws, { ...spec, image }, plan, what) : processingApi(aws, { ...spec, image }, plan, what);
    const job = `${api.kind} job ${plan.name}`;
    // Not abortable: a create cut short may still have created the job, which then could not be stopped.
    await api.create();
    say(`${job} created${consoleLink(aws, api.kind, plan.name)}`);

    const end = await waitForJob(api, settings, spec, signal, say);
    if (end.kind === 'gone') return outcome('failed', `${what}: lost track of ${job}, which may still be running: ${end.error}`);
    if (end.kind === 'cancelled' || end.kind === 'deadline') {
      const stopped = await stopJob(api, job);
      return end.kind === 'cancelled'
        ? outcome('cancelled', `${what} was cancelled${stopped}`)
        : outcome(
            'timed_out',
            `${what} did not finish within its limit of ${formatDuration(spec.timeoutMs)} (plus ${formatDuration(settings.timeoutGraceMs)} grace)${stopped}`,
          );
    }
    const v = end.verdict;
    if (v.status !== 'succeeded') return outcome(v.status, v.reason);

    if (api.kind === 'processing') {
      const n = await downloadPrefix(aws, { bucket, key: keys.output }, spec.dirs.output, signal);
      say(`${n} output file(s) downloaded from ${s3Uri(bucket, keys.output)}/`);
      return outcome('succeeded', null);
    }
    if (!v.artifactUri) return outcome('failed', `${what}: ${job} completed without a model artifact`);
    const modelFile = join(tmp, 'model.tar.gz');
    if (!(await downloadFile(aws, parseS3Uri(v.artifactUri), modelFile, signal))) {
      return outcome('failed', `${what}: ${job} completed but its model ${v.artifactUri} is not in S3`);
    }
    mkdirSync(spec.dirs.model, { recursive: true });
    await unpack(modelFile, spec.dirs.model);
    say(`model ${v.artifactUri} unpacked into ${spec.dirs.model}`);
    // What the step wrote to MLP_OUTPUT_DIR: SageMaker packs /opt/ml/output/data beside the model.
    const outputUri = v.artifactUri.replace(/model\.tar\.gz$/, 'output.tar.gz');
    const outputFile = join(tmp, 'output.tar.gz');
    if (outputUri !== v.artifactUri && (await downloadFile(aws, parseS3Uri(outputUri), outputFile, signal))) {
      mkdirSync(spec.dirs.output, { recursive: true });
      await unpack(outputFile, spec.dirs.output);
    }
    return outcome('succeeded', null, { artifactUri: v.artifactUri });
  } catch (err) {
    if (isAbort(err) || (signal.aborted && !(err instanceof MlpError))) return cancelled();
    return outcome(
      'failed',
      err instanceof MlpError ? `${what}: ${err.message}` : `${what} could not run on SageMaker: ${describeError(err)}`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

type WaitEnd =
  | { kind: 'done'; verdict: Exclude<JobVerdict, { done: false }> }
  | { kind: 'cancelled' }
  | { kind: 'deadline' }
  | { kind: 'gone'; error: string };

/** Polls with a doubling interval until the job ends, the step is cancelled or the deadline passes. */
async function waitForJob(
  api: JobApi,
  settings: Settings,
  spec: StepSpec,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<WaitEnd> {
  const deadline = Date.now() + spec.timeoutMs + settings.timeoutGraceMs;
  let interval = settings.pollIntervalMs;
  let failures = 0;
  for (;;) {
    try {
      const d = await api.describe();
      failures = 0;
      for (const line of api.progress(d)) say(line);
      const v = api.verdict(d);
      if (v.done) return { kind: 'done', verdict: v };
    } catch (err) {
      if (!(err instanceof MlpError)) throw err;
      if (++failures > settings.pollFailuresTolerated) return { kind: 'gone', error: err.message };
      say(`${err.message} (trying again)`);
    }
    if (signal.aborted) return { kind: 'cancelled' };
    const left = deadline - Date.now();
    if (left <= 0) return { kind: 'deadline' };
    await pause(Math.min(interval, left), signal);
    if (signal.aborted) return { kind: 'cancelled' };
    interval = Math.min(interval * 2, settings.maxPollIntervalMs);
  }
}

/** Stops the job; returns what to add to the step's reason (nothing when the stop went through). */
async function stopJob(api: JobApi, job: string): Promise<string> {
  try {
    await api.stop();
    return `; ${job} was stopped`;
  } catch (err) {
    return `, but stopping ${job} failed: ${describeError(err)}; stop it in the SageMaker console`;
  }
}

function trainingApi(aws: AwsClients, spec: StepSpec & { image: string }, plan: JobPlan, what: string): JobApi {
  const name = plan.name;
  const seen: string[] = [];
  const request = trainingJobRequest(spec, plan);
  return {
    kind: 'training',
    create: () => awsCall(aws, 'sagemaker', 'CreateTrainingJob', () => aws.sagemaker.send(new CreateTrainingJobCommand(request))),
    describe: () =>
      awsCall(aws, 'sagemaker', 'DescribeTrainingJob', () => aws.sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }))),
    stop: () =>
      awsCall(aws, 'sagemaker', 'StopTrainingJob', () => aws.sagemaker.send(new StopTrainingJobCommand({ TrainingJobName: name }))),
    verdict: (d) => trainingJobVerdict(what, d as DescribeTrainingJobResponse),
    progress: (d) => trainingProgress(d as DescribeTrainingJobResponse, seen).map((l) => `training job ${name}: ${l}`),
  };
}

function processingApi(aws: AwsClients, spec: StepSpec & { image: string }, plan: JobPlan, what: string): JobApi {
  const name = plan.name;
  let last: string | undefined;
  const request = processingJobRequest(spec, plan);
  return {
    kind: 'processing',
    create: () => awsCall(aws, 'sagemaker', 'CreateProcessingJob', () => aws.sagemaker.send(new CreateProcessingJobCommand(request))),
    describe: () =>
      awsCall(aws, 'sagemaker', 'DescribeProcessingJob', () =>
        aws.sagemaker.send(new DescribeProcessingJobCommand({ ProcessingJobName: name })),
      ),
    stop: () =>
      awsCall(aws, 'sagemaker', 'StopProcessingJob', () => aws.sagemaker.send(new StopProcessingJobCommand({ ProcessingJobName: name }))),
    verdict: (d) => processingJobVerdict(what, d as DescribeProcessingJobResponse),
    progress: (d) => {
      const status = (d as DescribeProcessingJobResponse).ProcessingJobStatus;
      if (!status || status === last) return [];
      last = status;
      return [`processing job ${name}: ${status}`];
    },
  };
}

function consoleLink(aws: AwsClients, kind: JobKind, name: string): string {
  if (aws.endpoints.sagemaker || !aws.region) return '';
  const page = kind === 'training' ? 'jobs' : 'processing-jobs';
  return ` (https://${aws.region}.console.aws.amazon.com/sagemaker/home?region=${aws.region}#/${page}/${name})`;
}

/** Waits `ms`, or less when the signal fires; never throws. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function definedOnly(opts: CloudExecutorOptions): Partial<Settings> {
  const out: Partial<Settings> = {};
  for (const key of Object.keys(DEFAULTS) as (keyof Settings)[]) if (opts[key] !== undefined) out[key] = opts[key];
  return out;
}
