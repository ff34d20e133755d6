/**
 * Training and processing jobs as SageMaker runs them (moto only records them, Completed at once): the
 * job's image in Docker with the /opt/ml layout, File-mode inputs downloaded from S3 first, outputs
 * uploaded after. Training: channels at /opt/ml/input/data/<channel>, /opt/ml/input/config/
 * {hyperparameters,inputdataconfig,resourceconfig}.json, `train` as the argument unless the job gives
 * an entrypoint; /opt/ml/model becomes `<S3OutputPath>/<job>/output/model.tar.gz`, /opt/ml/output/
 * failure the FailureReason. Processing: inputs and outputs at their LocalPath, /opt/ml/output/message
 * the ExitMessage. MaxRuntimeInSeconds stops the container. The job's status, secondary status and
 * times are kept here and replace moto's in the Describe answers.
 */
import Docker from 'dockerode';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsError } from './aws-errors.js';
import { STANDIN_LABEL } from './model-containers.js';
import { downloadPrefix, parseS3, uploadDir } from './s3Files.js';

type Kind = 'training' | 'processing';
type Status = 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';

interface Transition {
  Status: string;
  StartTime: number;
  EndTime?: number;
  StatusMessage?: string;
}

interface Job {
  kind: Kind;
  name: string;
  status: Status;
  secondary: string;
  transitions: Transition[];
  failureReason?: string;
  exitMessage?: string;
  artifact?: string;
  endTime?: number;
  container?: Docker.Container;
  /** Why the container is being stopped, once it is. */
  stopping?: 'MaxRuntimeExceeded' | 'Stopped';
}

interface Channel {
  ChannelName: string;
  DataSource?: { S3DataSource?: { S3Uri?: string } };
}
interface ProcessingInput {
  InputName: string;
  S3Input?: { S3Uri?: string; LocalPath?: string };
}
interface ProcessingOutput {
  OutputName: string;
  S3Output?: { S3Uri?: string; LocalPath?: string };
}

export class Jobs {
  private readonly jobs = new Map<string, Job>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly docker: Docker,
    private readonly s3: S3Client,
    private readonly labels: Record<string, string>,
    private readonly instance: string,
    private readonly log: (line: string) => void,
  ) {}

  /** After moto recorded CreateTrainingJob. */
  startTraining(input: Record<string, any>): void {
    const spec = input.AlgorithmSpecification ?? {};
    const channels: Channel[] = input.InputDataConfig ?? [];
    this.launch('training', input.TrainingJobName, input.StoppingCondition?.MaxRuntimeInSeconds, async (root) => {
      const config = join(root, 'input', 'config');
      await mkdir(config, { recursive: true });
      await mkdir(join(root, 'model'), { recursive: true });
      await mkdir(join(root, 'output', 'data'), { recursive: true });
      await writeFile(join(config, 'hyperparameters.json'), JSON.stringify(input.HyperParameters ?? {}));
      await writeFile(join(config, 'resourceconfig.json'), JSON.stringify({ current_host: 'algo-1', hosts: ['algo-1'] }));
      const channelConfig = { TrainingInputMode: 'File', S3DistributionType: 'FullyReplicated', RecordWrapperType: 'None' };
      await writeFile(
        join(config, 'inputdataconfig.json'),
        JSON.stringify(Object.fromEntries(channels.map((c) => [c.ChannelName, channelConfig]))),
      );
      for (const c of channels) {
        const uri = c.DataSource?.S3DataSource?.S3Uri;
        if (!uri) continue;
        const dir = join(root, 'input', 'data', c.ChannelName);
        await mkdir(dir, { recursive: true });
        if ((await downloadPrefix(this.s3, uri, dir)) === 0) {
          throw new Error(
            `ClientError: No S3 objects found under S3 URL "${uri}" given in input data source. Please ensure that the bucket exists ` +
              'in the selected region, that objects exist under that S3 prefix, and that the role has permission to read the objects.',
          );
        }
      }
      return {
        image: spec.TrainingImage,
        entrypoint: spec.ContainerEntrypoint,
        args: spec.ContainerArguments ?? (spec.ContainerEntrypoint ? [] : ['train']),
        env: input.Environment ?? {},
        mounts: [{ source: root, target: '/opt/ml' }],
        finish: async (job: Job) => {
          const folder = `${String(input.OutputDataConfig?.S3OutputPath ?? '').replace(/\/+$/, '')}/${job.name}/output`;
          job.artifact = `${folder}/model.tar.gz`;
          await this.putTarball(join(root, 'model'), job.artifact);
          await this.putTarball(join(root, 'output', 'data'), `${folder}/output.tar.gz`);
        },
        failure: () => readFile(join(root, 'output', 'failure'), 'utf8').catch(() => ''),
      };
    });
  }

  /** After moto recorded CreateProcessingJob. */
  startProcessing(input: Record<string, any>): void {
    const app = input.AppSpecification ?? {};
    const inputs: ProcessingInput[] = input.ProcessingInputs ?? [];
    const outputs: ProcessingOutput[] = input.ProcessingOutputConfig?.Outputs ?? [];
    this.launch('processing', input.ProcessingJobName, input.StoppingCondition?.MaxRuntimeInSeconds, async (root) => {
      const mounts = [{ source: join(root, 'ml-output'), target: '/opt/ml/output' }];
      await mkdir(mounts[0]!.source, { recursive: true });
      const folder = (path: string) => join(root, 'paths', path);
      for (const i of inputs) {
        if (!i.S3Input?.S3Uri || !i.S3Input.LocalPath) continue;
        await mkdir(folder(i.S3Input.LocalPath), { recursive: true });
        await downloadPrefix(this.s3, i.S3Input.S3Uri, folder(i.S3Input.LocalPath));
        mounts.push({ source: folder(i.S3Input.LocalPath), target: i.S3Input.LocalPath });
      }
      for (const o of outputs) {
        if (!o.S3Output?.LocalPath) continue;
        await mkdir(folder(o.S3Output.LocalPath), { recursive: true });
        mounts.push({ source: folder(o.S3Output.LocalPath), target: o.S3Output.LocalPath });
      }
      return {
        image: app.ImageUri,
        entrypoint: app.ContainerEntrypoint,
        args: app.ContainerArguments ?? [],
        env: input.Environment ?? {},
        mounts,
        finish: async (job: Job) => {
          job.exitMessage = await this.message(join(root, 'ml-output', 'message'));
          for (const o of outputs)
            if (o.S3Output?.S3Uri && o.S3Output.LocalPath) await uploadDir(this.s3, folder(o.S3Output.LocalPath), o.S3Output.S3Uri);
        },
        failure: async () => {
          return this.message(join(root, 'ml-output', 'message'));
        },
      };
    });
  }

  /** StopTrainingJob / StopProcessingJob; undefined when the job is not one of ours. */
  async stop(kind: Kind, name: string | undefined): Promise<object | undefined> {
    const job = name ? this.jobs.get(`${kind}/${name}`) : undefined;
    if (!job) return undefined;
    if (job.status !== 'InProgress')
      throw new AwsError('ValidationException', `The job ${name} is not in progress (status ${job.status}).`);
    job.status = 'Stopping';
    job.stopping = 'Stopped';
    await job.container?.stop({ t: 2 }).catch(() => undefined); // not started yet, or ended meanwhile
    return {};
  }

  /** moto's Describe answer with the job as it really is. */
  describe(kind: Kind, moto: Record<string, any>): Record<string, any> {
    const name = kind === 'training' ? moto.TrainingJobName : moto.ProcessingJobName;
    const job = this.jobs.get(`${kind}/${name}`);
    if (!job) return moto;
    const answer = { ...moto };
    for (const field of ['FailureReason', 'ExitMessage', 'TrainingEndTime', 'ProcessingEndTime']) delete answer[field];
    if (job.failureReason) answer.FailureReason = job.failureReason;
    if (kind === 'training') {
      answer.TrainingJobStatus = job.status;
      answer.SecondaryStatus = job.secondary;
      answer.SecondaryStatusTransitions = job.transitions;
      if (job.artifact && job.status === 'Completed') answer.ModelArtifacts = { S3ModelArtifacts: job.artifact };
      else delete answer.ModelArtifacts;
      if (job.endTime) answer.TrainingEndTime = job.endTime;
    } else {
      answer.ProcessingJobStatus = job.status;
      if (job.exitMessage) answer.ExitMessage = job.exitMessage;
      if (job.endTime) answer.ProcessingEndTime = job.endTime;
    }
    return answer;
  }

  /** Stops every running job's container and waits for their ends. */
  async stopAll(): Promise<void> {
    for (const job of this.jobs.values()) {
      if (job.status === 'InProgress') job.stopping = 'Stopped';
      await job.container?.remove({ force: true }).catch(() => undefined);
    }
    await Promise.all([...this.running]);
    this.jobs.clear();
  }

  private launch(
    kind: Kind,
    name: string,
    maxRuntimeS: number | undefined,
    prepare: (root: string) => Promise<{
      image: string;
      entrypoint?: string[];
      args: string[];
      env: Record<string, string>;
      mounts: { source: string; target: string }[];
      finish: (job: Job) => Promise<void>;
      failure: () => Promise<string>;
    }>,
  ): void {
    const job: Job = { kind, name, status: 'InProgress', secondary: 'Starting', transitions: [] };
    this.jobs.set(`${kind}/${name}`, job);
    this.enter(job, 'Starting', 'Preparing the instances for training');
    const run = (async () => {
      const root = await mkdtemp(join(tmpdir(), `mlp-sagemaker-${kind}-`));
      try {
        this.enter(job, 'Downloading', 'Downloading input data');
        const plan = await prepare(root);
        if (job.stopping) return this.end(job, 'Stopped', job.stopping);
        const code = await this.runContainer(job, plan, maxRuntimeS);
        if (job.stopping === 'MaxRuntimeExceeded') {
          return this.end(
            job,
            'Stopped',
            job.stopping,
            `MaxRuntimeExceeded: the job ran longer than MaxRuntimeInSeconds (${maxRuntimeS} s)`,
          );
        }
        if (job.stopping) return this.end(job, 'Stopped', job.stopping);
        if (code !== 0) {
          const reason = (await plan.failure()).trim();
          return this.end(job, 'Failed', 'Failed', reason ? `AlgorithmError: ${reason}` : `AlgorithmError: exit code: ${code}`);
        }
        this.enter(job, 'Uploading', kind === 'training' ? 'Uploading generated training model' : 'Uploading the processing outputs');
        await plan.finish(job);
        this.end(job, 'Completed', 'Completed');
      } catch (err) {
        this.end(job, 'Failed', 'Failed', (err as Error).message);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private async runContainer(
    job: Job,
    plan: {
      image: string;
      entrypoint?: string[];
      args: string[];
      env: Record<string, string>;
      mounts: { source: string; target: string }[];
    },
    maxRuntimeS: number | undefined,
  ): Promise<number> {
    const container = await this.docker.createContainer({
      Image: plan.image,
      ...(plan.entrypoint ? { Entrypoint: plan.entrypoint } : {}),
      Cmd: plan.args,
      Env: Object.entries(plan.env).map(([k, v]) => `${k}=${v}`),
      Labels: { [STANDIN_LABEL]: this.instance, [`${STANDIN_LABEL}.job`]: job.name, ...this.labels },
      HostConfig: {
        NetworkMode: 'host',
        Init: true,
        Mounts: plan.mounts.map((m) => ({ Type: 'bind' as const, Source: m.source, Target: m.target })),
      },
    });
    job.container = container;
    const timer = maxRuntimeS
      ? setTimeout(() => {
          job.stopping = 'MaxRuntimeExceeded';
          job.status = 'Stopping';
          void container.stop({ t: 2 }).catch(() => undefined);
        }, maxRuntimeS * 1000)
      : undefined;
    try {
      await container.start();
      if (job.kind === 'training') this.enter(job, 'Training', 'Training image download completed. Training in progress.');
      else this.enter(job, 'Processing', 'Processing in progress.');
      // A stop that came while the container was being created finds it only now.
      if (job.stopping) void container.stop({ t: 2 }).catch(() => undefined);
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8').replace(/[\x00-\x08]/g, '');
      if (logs.trim()) this.log(`${job.kind} job ${job.name}:\n${logs.trimEnd()}`);
      return StatusCode;
    } finally {
      clearTimeout(timer);
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  private async putTarball(dir: string, uri: string): Promise<void> {
    const tar = spawnSync('tar', ['-czf', '-', '-C', dir, '.'], { maxBuffer: 1 << 30 });
    if (tar.status !== 0) throw new Error(`ClientError: could not pack ${dir}: ${tar.stderr.toString()}`);
    const { bucket, key } = parseS3(uri);
    await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: tar.stdout }));
  }

  private async message(file: string): Promise<string> {
    return (await readFile(file, 'utf8').catch(() => '')).slice(0, 1024);
  }

  private enter(job: Job, status: string, message: string): void {
    const now = Date.now() / 1000;
    const last = job.transitions.at(-1);
    if (last && last.EndTime === undefined) last.EndTime = now;
    job.transitions.push({ Status: status, StartTime: now, StatusMessage: message });
    job.secondary = status;
  }

  private end(job: Job, status: Status, secondary: string, reason?: string): void {
    this.enter(job, secondary, reason ?? `Job ${status.toLowerCase()}`);
    job.transitions.at(-1)!.EndTime = Date.now() / 1000;
    job.status = status;
    job.failureReason = reason;
    job.endTime = Date.now() / 1000;
    job.container = undefined;
  }
}
