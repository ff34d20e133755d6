/**
 * Picks the executor for `--local`, `--docker`, `--cloud`, or a pipeline's training backend
 * (shared/config/backends.ts `trainingBackend`).
 * The docker and cloud executors (dockerode, the AWS SDK) are loaded on first use, so commands and
 * daemons that only run local steps never pay for them or touch the Docker engine or AWS.
 */
import type { Backend, RepoConfig } from '../../shared/config/schema.js';
import { MlpError } from '../../shared/errors.js';
import type { ChildLedger } from '../children/ledger.js';
import type { Executor, ExecutorKind } from './executor.js';
import { createLocalExecutor } from './local.js';

export interface ExecutorFactory {
  get(kind: ExecutorKind): Executor;
  /** The executor of a backend: `sagemaker` runs steps as SageMaker jobs (`--cloud`). */
  forBackend(backend: Backend): Executor;
}

export function createExecutorFactory(opts: {
  repoConfig: () => RepoConfig | null;
  dockerSocket?: string;
  ledger?: ChildLedger;
  /** The CPU priority of local steps (`runs.nice`); absent: the caller's own (`mlp run` in a terminal). */
  nice?: () => number;
}): ExecutorFactory {
  const local = createLocalExecutor({ ...(opts.ledger ? { ledger: opts.ledger } : {}), ...(opts.nice ? { nice: opts.nice } : {}) });
  let docker: Promise<Executor> | undefined;
  const dockerExecutor: Executor = {
    kind: 'docker',
    async run(spec, io) {
      docker ??= import('./docker.js').then((m) =>
        m.createDockerExecutor({
          ...(opts.dockerSocket ? { socketPath: opts.dockerSocket } : {}),
          ...(opts.ledger ? { ledger: opts.ledger } : {}),
        }),
      );
      return (await docker).run(spec, io);
    },
  };
  const cloudExecutor: Executor = {
    kind: 'cloud',
    async run(spec, io) {
      // Built per run: mlp.yaml's aws section may change while the daemon runs.
      const aws = opts.repoConfig()?.aws;
      if (!aws) throw new MlpError('invalid_config', 'cloud runs need an aws section (role_arn, bucket) in mlp.yaml at the repo root');
      const { createCloudExecutor } = await import('./cloud.js');
      return createCloudExecutor({ aws: { roleArn: aws.role_arn, bucket: aws.bucket, ...(aws.region ? { region: aws.region } : {}) } }).run(
        spec,
        io,
      );
    },
  };
  const get = (kind: ExecutorKind): Executor => (kind === 'local' ? local : kind === 'docker' ? dockerExecutor : cloudExecutor);
  return { get, forBackend: (backend) => get(backend === 'sagemaker' ? 'cloud' : backend) };
}
