/**
 * Model servers as containers, the way SageMaker runs a bring-your-own image (docs/serving.md, "The
 * serving image"): `docker run IMAGE serve` with the model at /opt/ml/model and the serving image's
 * environment (servingImageEnv: MLP_SERVE_COMMAND, the model folder, who the server is), so an image that
 * serves here serves on SageMaker. Differences, because containers share the host's network here: the
 * server listens on the HOST and PORT it is given (not 0.0.0.0:8080: HOST is 127.0.0.1, the host's own
 * loopback, so a container is no more reachable from the network than a local server is, and PORT is a
 * free port of the host); and an image that does not carry the pipeline folder at /opt/ml/code gets it
 * mounted read-only there, with a warning that SageMaker, which mounts nothing, could not run it.
 *
 * The image is the pipeline's `image:`, else the one built from its Dockerfile (shared with the
 * docker executor). Containers run as the daemon's uid:gid and are removed when they end.
 */
import Docker from 'dockerode';
import { Writable } from 'node:stream';
import { MlpError } from '../../../shared/errors.js';
import { buildImage, DEFAULT_DOCKER_SOCKET, engineMessage, ensureImage, isConnectionError } from '../../executors/docker.js';
import { UNRECORDED, type ChildLedger } from '../../children/ledger.js';
import { lineSplitter } from '../../executors/executor.js';
import {
  IMAGE_CODE_DIR,
  IMAGE_MODEL_DIR,
  serverEnv,
  serverName,
  serverPurpose,
  servingImageEnv,
  type RunningServer,
  type ServerBackend,
  type ServerSpec,
} from './servers.js';
import { testRunLabels } from '../../test-run.js';

export const SERVER_LABEL = { pipeline: 'mlp.pipeline', group: 'mlp.group', variant: 'mlp.variant', server: 'mlp.server' } as const;

export function createDockerServerBackend(
  opts: { socketPath?: string; ledger?: ChildLedger; warn?: (pipeline: string, message: string) => void } = {},
): ServerBackend {
  const ledger = opts.ledger ?? UNRECORDED;
  const docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : new Docker();
  const address = opts.socketPath ?? process.env.DOCKER_HOST ?? DEFAULT_DOCKER_SOCKET;
  const unreachable = (err: unknown) =>
    new MlpError('unavailable', `cannot reach the Docker engine at ${address}: ${engineMessage(err)}; is dockerd running?`, { cause: err });

  return {
    kind: 'docker',
    async start(spec, onLine): Promise<RunningServer> {
      try {
        await docker.ping();
      } catch (err) {
        throw unreachable(err);
      }
      const io = { onLine };
      const never = new AbortController().signal;
      let container: Docker.Container;
      let created = false;
      const record = ledger.container(serverPurpose(spec));
      try {
        const image =
          spec.image !== undefined ? await ensureImage(docker, spec.image, io, never) : await buildImage(docker, spec, io, never);
        if ('failure' in image) throw new MlpError('check_failed', image.failure);
        const carriesCode = await hasPath(docker, image.image, IMAGE_CODE_DIR, ledger, spec);
        if (!carriesCode) {
          const warning = `image ${image.image} has no ${IMAGE_CODE_DIR}: mlpd mounts the pipeline folder there, but SageMaker mounts nothing, so this image would not serve on SageMaker; copy the pipeline folder to ${IMAGE_CODE_DIR} in its Dockerfile (docs/serving.md, "The serving image")`;
          if (opts.warn)
            opts.warn(spec.pipeline, `${spec.multiModel ? 'multi-model server' : `${spec.group}/${spec.variant}`}: ${warning}`);
          else onLine('stderr', `warning: ${warning}`);
        }
        const env = { ...serverEnv(spec, IMAGE_MODEL_DIR), ...servingImageEnv(spec) };
        container = await docker.createContainer({
          Image: image.image,
          Cmd: ['serve'],
          Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
          WorkingDir: IMAGE_CODE_DIR,
          User: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
          Labels: {
            [SERVER_LABEL.pipeline]: spec.pipeline,
            [SERVER_LABEL.group]: spec.group,
            [SERVER_LABEL.variant]: spec.variant,
            [SERVER_LABEL.server]: spec.serverId,
            ...record.labels,
            ...testRunLabels(),
          },
          HostConfig: {
            NetworkMode: 'host',
            Init: true,
            // Mounts, not `SRC:DST:ro` binds: a ':' in a folder name must not be read as a separator.
            Mounts: [
              { Type: 'bind', Source: spec.modelDir, Target: IMAGE_MODEL_DIR, ReadOnly: true },
              ...(carriesCode ? [] : [{ Type: 'bind' as const, Source: spec.pipelineDir, Target: IMAGE_CODE_DIR, ReadOnly: true }]),
            ],
          },
        });
        created = true;
        await container.start();
      } catch (err) {
        // One that was created but did not start goes too; if it cannot be removed, the ledger keeps it for the next daemon.
        if (created)
          await container!.remove({ force: true }).then(
            () => record.ended(),
            () => undefined,
          );
        else record.ended();
        if (isConnectionError(err)) throw unreachable(err);
        if (err instanceof MlpError) throw err;
        throw new MlpError('check_failed', `the model server container could not start: ${engineMessage(err)}`);
      }

      const tail: string[] = [];
      const out = lineSplitter((l) => onLine('stdout', l), tail);
      const err = lineSplitter((l) => onLine('stderr', l), tail);
      const logs = (await container.logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      docker.modem.demuxStream(
        logs,
        sink((c) => out.write(c)),
        sink((c) => err.write(c)),
      );

      const exited = container.wait().then(
        (r: { StatusCode?: number }) => ({ code: r.StatusCode ?? null, signal: null }),
        (e: unknown) => ({ code: null, signal: `lost (${engineMessage(e)})` }),
      );
      // A server that ended is gone for good: the supervisor starts a fresh container.
      const removed = exited.then(() => {
        out.flush();
        err.flush();
        return container.remove({ force: true }).then(
          () => record.ended(),
          () => undefined,
        );
      });

      return {
        handle: `container:${container.id}`,
        exited,
        tail: () => [...tail],
        async stop(graceMs) {
          await container.stop({ t: Math.max(1, Math.ceil(graceMs / 1000)) }).catch(() => undefined);
          await removed; // a daemon that stops right after must not leave the stopped container behind
        },
      };
    },
  };
}

/**
 * Whether `image` holds `path`, read from a container created from it and never started (nothing mounted,
 * so the answer is the image's own). The probe is in the ledger like any container, so a daemon killed
 * meanwhile leaves nothing behind for good.
 */
async function hasPath(docker: Docker, image: string, path: string, ledger: ChildLedger, spec: ServerSpec): Promise<boolean> {
  const record = ledger.container({ what: `image check of ${image} for ${serverName(spec)}` });
  let probe: Docker.Container | undefined;
  try {
    probe = await docker.createContainer({ Image: image, Cmd: ['serve'], Labels: { ...record.labels, ...testRunLabels() } });
    await probe.infoArchive({ path });
    return true;
  } catch (err) {
    if (probe && (err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  } finally {
    if (probe)
      await probe.remove({ force: true }).then(
        () => record.ended(),
        () => undefined,
      );
    else record.ended();
  }
}

function sink(write: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      write(chunk);
      done();
    },
  });
}
