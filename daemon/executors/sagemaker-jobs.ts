/**
 * How a step becomes a SageMaker job, and what a job's description means for the step: pure
 * functions, so the requests and the verdicts are tested without AWS.
 *
 * The step's code travels as code.tar.gz (the pipeline folder) in an input channel; the container
 * runs `/bin/sh -c <unpack script>`, which unpacks it into a work folder, cds there and runs the
 * step's command: the same command, working directory layout and MLP_* environment as on a laptop.
 */
import { randomBytes } from 'node:crypto';
import type {
  CreateProcessingJobRequest,
  CreateTrainingJobRequest,
  DescribeProcessingJobResponse,
  DescribeTrainingJobResponse,
  ProcessingInstanceType,
  TrainingInstanceType,
} from '@aws-sdk/client-sagemaker';
import { formatDuration } from '../../shared/duration.js';
import { contractEnv, type StepSpec } from './executor.js';

export type JobKind = 'training' | 'processing';

/** Where the contract's folders are inside the job's container. */
export const CONTAINER_PATHS = {
  training: {
    codeDir: '/opt/ml/input/data/code',
    work: '/opt/ml/mlp-work',
    model: '/opt/ml/model',
    input: '/opt/ml/input/data/input',
    output: '/opt/ml/output/data',
  },
  processing: {
    codeDir: '/opt/ml/processing/code',
    work: '/opt/ml/processing/mlp-work',
    model: '/opt/ml/processing/model',
    input: '/opt/ml/processing/input',
    output: '/opt/ml/processing/output',
  },
} as const;

/** SageMaker's limits on the fields mlp fills. */
const MAX_NAME = 63;
const MAX_ARGUMENT = 256;
const MAX_ARGUMENTS: Record<JobKind, number> = { training: 100, processing: 256 };
const MAX_RUNTIME_S: Record<JobKind, number> = { training: 28 * 86_400, processing: 7 * 86_400 };
export const VOLUME_GB = 30;

export const NEEDS_IMAGE = 'cloud runs need `image:` in pipeline.yaml (an image URI SageMaker can pull)';

/**
 * S3 keys of one step of one run for one group:
 * `mlp/<pipeline>/runs/<run id>/<group>/<step>/{code.tar.gz, input/, model/, output/}`.
 */
export function stepKeys(spec: Pick<StepSpec, 'pipeline' | 'runId' | 'group' | 'step'>) {
  const prefix = ['mlp', spec.pipeline, 'runs', spec.runId, spec.group, spec.step].map(keySegment).join('/');
  return { prefix, code: `${prefix}/code.tar.gz`, input: `${prefix}/input`, model: `${prefix}/model`, output: `${prefix}/output` };
}

/**
 * Group names come from warehouse data: anything beyond letters, digits and `._-` is percent-encoded, so
 * no two groups share a folder; a whole `.` or `..` too, which HTTP clients and tools would resolve.
 */
function keySegment(s: string): string {
  if (s === '.' || s === '..') return s.replaceAll('.', '%2E');
  return s.replace(/[^A-Za-z0-9._-]/g, (c) => [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

/**
 * A job name SageMaker accepts (at most 63 of [a-zA-Z0-9-], no leading or trailing hyphen) that says
 * what ran and is unique: `mlp-<pipeline>-<group>-<step>` shortened to fit, then a random suffix.
 * Job names can never be reused in an account, so a retried step gets a new one.
 */
export function jobName(spec: Pick<StepSpec, 'pipeline' | 'group' | 'step'>, suffix = randomSuffix()): string {
  const readable = `mlp-${spec.pipeline}-${spec.group}-${spec.step}`.replace(/[^a-zA-Z0-9]+/g, '-');
  const head = readable.slice(0, MAX_NAME - suffix.length - 1).replace(/-+$/, '');
  return `${head}-${suffix}`;
}

function randomSuffix(): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  return [...randomBytes(10)].map((b) => alphabet[b % 32]).join('');
}

/**
 * ContainerArguments for `/bin/sh -c`: the unpack script, then the step's command in pieces of at
 * most 256 characters (SageMaker's limit per argument), which the script joins back with printf.
 */
export function containerArguments(kind: JobKind, command: string): string[] {
  const p = CONTAINER_PATHS[kind];
  const script =
    `set -e; mkdir -p ${p.work} "$MLP_MODEL_DIR" "$MLP_INPUT_DIR" "$MLP_OUTPUT_DIR"; ` +
    `tar xzf ${p.codeDir}/code.tar.gz -C ${p.work}; cd ${p.work}; exec /bin/sh -c "$(printf %s "$@")"`;
  const chars = [...command]; // by code point, so no piece ends in half a character
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += MAX_ARGUMENT) pieces.push(chars.slice(i, i + MAX_ARGUMENT).join(''));
  const args = [script, 'mlp-step', ...pieces];
  if (args.length > MAX_ARGUMENTS[kind]) {
    throw new Error(
      `the step's command is too long for SageMaker (${chars.length} characters; at most ${(MAX_ARGUMENTS[kind] - 2) * MAX_ARGUMENT}): put it in a script`,
    );
  }
  return args;
}

/** The environment a job's container gets: the contract's, with the container's paths. */
export function containerEnv(kind: JobKind, spec: Pick<StepSpec, 'group' | 'runId' | 'env'>): Record<string, string> {
  const p = CONTAINER_PATHS[kind];
  return { ...contractEnv(spec, { model: p.model, input: p.input, output: p.output }), PYTHONUNBUFFERED: '1' };
}

/** SageMaker's MaxRuntimeInSeconds for the step's timeout, within what the job kind allows. */
export function maxRuntimeSeconds(kind: JobKind, timeoutMs: number): number {
  return Math.min(MAX_RUNTIME_S[kind], Math.max(1, Math.ceil(timeoutMs / 1000)));
}

export interface JobPlan {
  name: string;
  roleArn: string;
  bucket: string;
  /** Did the step's input folder hold files (SageMaker refuses a channel with no objects)? */
  hasInput: boolean;
  /** Processing steps: did the run's model folder hold files to hand to the step? */
  hasModel: boolean;
}

const uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

export function trainingJobRequest(spec: StepSpec & { image: string }, plan: JobPlan): CreateTrainingJobRequest {
  const keys = stepKeys(spec);
  const channel = (name: string, key: string) => ({
    ChannelName: name,
    InputMode: 'File' as const,
    DataSource: {
      S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: uri(plan.bucket, key), S3DataDistributionType: 'FullyReplicated' as const },
    },
  });
  return {
    TrainingJobName: plan.name,
    RoleArn: plan.roleArn,
    AlgorithmSpecification: {
      TrainingImage: spec.image,
      TrainingInputMode: 'File',
      ContainerEntrypoint: ['/bin/sh', '-c'],
      ContainerArguments: containerArguments('training', spec.command),
    },
    InputDataConfig: [channel('code', keys.code), ...(plan.hasInput ? [channel('input', `${keys.input}/`)] : [])],
    OutputDataConfig: { S3OutputPath: uri(plan.bucket, keys.output) },
    ResourceConfig: { InstanceType: spec.instanceType as TrainingInstanceType, InstanceCount: 1, VolumeSizeInGB: VOLUME_GB },
    StoppingCondition: { MaxRuntimeInSeconds: maxRuntimeSeconds('training', spec.timeoutMs) },
    Environment: containerEnv('training', spec),
    HyperParameters: { group: spec.group, run_id: spec.runId },
  };
}

export function processingJobRequest(spec: StepSpec & { image: string }, plan: JobPlan): CreateProcessingJobRequest {
  const keys = stepKeys(spec);
  const p = CONTAINER_PATHS.processing;
  const input = (name: string, key: string, localPath: string) => ({
    InputName: name,
    S3Input: {
      S3Uri: uri(plan.bucket, key),
      LocalPath: localPath,
      S3DataType: 'S3Prefix' as const,
      S3InputMode: 'File' as const,
      S3DataDistributionType: 'FullyReplicated' as const,
    },
  });
  return {
    ProcessingJobName: plan.name,
    RoleArn: plan.roleArn,
    AppSpecification: {
      ImageUri: spec.image,
      ContainerEntrypoint: ['/bin/sh', '-c'],
      ContainerArguments: containerArguments('processing', spec.command),
    },
    ProcessingResources: {
      ClusterConfig: { InstanceCount: 1, InstanceType: spec.instanceType as ProcessingInstanceType, VolumeSizeInGB: VOLUME_GB },
    },
    ProcessingInputs: [
      input('code', keys.code, p.codeDir),
      ...(plan.hasInput ? [input('input', `${keys.input}/`, p.input)] : []),
      ...(plan.hasModel ? [input('model', `${keys.model}/`, p.model)] : []),
    ],
    ProcessingOutputConfig: {
      Outputs: [
        { OutputName: 'output', S3Output: { S3Uri: uri(plan.bucket, `${keys.output}/`), LocalPath: p.output, S3UploadMode: 'EndOfJob' } },
      ],
    },
    StoppingCondition: { MaxRuntimeInSeconds: maxRuntimeSeconds('processing', spec.timeoutMs) },
    Environment: containerEnv('processing', spec),
  };
}

/** What a job's description means for the step: still running, or how it ended and why. */
export type JobVerdict =
  | { done: false }
  | { done: true; status: 'succeeded'; artifactUri?: string }
  | { done: true; status: 'failed' | 'timed_out' | 'cancelled'; reason: string };

const limitOf = (seconds: number | undefined) => (seconds ? ` of ${formatDuration(seconds * 1000)}` : '');

export function trainingJobVerdict(what: string, d: DescribeTrainingJobResponse): JobVerdict {
  const job = `training job ${d.TrainingJobName}`;
  switch (d.TrainingJobStatus) {
    case 'Completed':
      return {
        done: true,
        status: 'succeeded',
        ...(d.ModelArtifacts?.S3ModelArtifacts ? { artifactUri: d.ModelArtifacts.S3ModelArtifacts } : {}),
      };
    case 'Failed':
      return {
        done: true,
        status: 'failed',
        reason: `${what} failed on SageMaker (${job}): ${d.FailureReason ?? 'SageMaker gave no reason'}`,
      };
    case 'Stopped':
      return d.SecondaryStatus === 'MaxRuntimeExceeded'
        ? {
            done: true,
            status: 'timed_out',
            reason: `${what} ran longer than its limit${limitOf(d.StoppingCondition?.MaxRuntimeInSeconds)} and SageMaker stopped ${job}`,
          }
        : { done: true, status: 'cancelled', reason: `${job} was stopped outside mlp` };
    default:
      return { done: false };
  }
}

export function processingJobVerdict(what: string, d: DescribeProcessingJobResponse): JobVerdict {
  const job = `processing job ${d.ProcessingJobName}`;
  const why = [d.FailureReason, d.ExitMessage].filter((s) => s?.trim()).join(': ');
  const overran = /max\s*runtime/i.test(why);
  switch (d.ProcessingJobStatus) {
    case 'Completed':
      return { done: true, status: 'succeeded' };
    case 'Failed':
    case 'Stopped':
      if (overran)
        return {
          done: true,
          status: 'timed_out',
          reason: `${what} ran longer than its limit${limitOf(d.StoppingCondition?.MaxRuntimeInSeconds)} and SageMaker stopped ${job}`,
        };
      return d.ProcessingJobStatus === 'Failed'
        ? { done: true, status: 'failed', reason: `${what} failed on SageMaker (${job}): ${why || 'SageMaker gave no reason'}` }
        : { done: true, status: 'cancelled', reason: `${job} was stopped outside mlp` };
    default:
      return { done: false };
  }
}

/**
 * Progress lines worth showing for a training job: each secondary status transition (Starting,
 * Downloading, Training, Uploading, ...) once, and again when its message changes.
 * `seen` carries what was already shown between polls.
 */
export function trainingProgress(d: DescribeTrainingJobResponse, seen: string[]): string[] {
  const lines: string[] = [];
  const transitions = d.SecondaryStatusTransitions ?? [];
  transitions.forEach((t, i) => {
    const line = t.StatusMessage ? `${t.Status}: ${t.StatusMessage}` : `${t.Status}`;
    if (seen[i] !== line) lines.push(line);
    seen[i] = line;
  });
  // Some stand-ins (and a job's first moments) have a status but no transition for it yet.
  const last = transitions.at(-1)?.Status;
  const status = d.SecondaryStatus ?? d.TrainingJobStatus;
  if (status && status !== last && seen[transitions.length] !== status) {
    lines.push(status);
    seen[transitions.length] = status;
  }
  return lines;
}
