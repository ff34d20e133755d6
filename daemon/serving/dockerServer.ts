/**
 * Model servers as containers, the way SageMaker runs a bring-your-own image: `docker run IMAGE serve`
 * with the model at /opt/ml/model. Differences, because containers share the host's network here:
 * the server listens on the HOST and PORT it is given (not 0.0.0.0:8080: HOST is 127.0.0.1, the
 * host's own loopback, so a container is no more reachable from the network than a local server
 * is, and PORT is a free port of the host), and the pipeline folder is mounted
 * read-only at /opt/ml/code with `serve.command` in MLP_SERVE_COMMAND, so an image's `serve` script
 * can be as small as `cd /opt/ml/code && exec sh -c "$MLP_SERVE_COMMAND"`.
 *
 * The image is the pipeline's `image:`, else the one built from its Dockerfile (shared with the
 * docker executor). Containers run as the daemon's uid:gid and are removed when they end.
 */
import Docker from 'dockerode';
import { Writable } from 'node:stream';
import { MlpError } from '../../shared/errors.js';
import { buildImage, DEFAULT_DOCKER_SOCKET, engineMessage, ensureImage, isConnectionError } from '../executors/docker.js';
import { UNRECORDED, type ChildLedger } from '../children/ledger.js';
import { lineSplitter } from '../executors/executor.js';
import { serverEnv, serverPurpose, type RunningServer, type ServerBackend } from './servers.js';
import { testRunLabels } from '../testRun.js';

export const SERVER_LABEL = { pipeline: 'mlp.pipeline', group: 'mlp.group', variant: 'mlp.variant', server: 'mlp.server' } as const;

export function createDockerServerBackend(opts: { socketPath?: string; ledger?: ChildLedger } = {}): ServerBackend {
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
        const image = spec.image !== undefined ? await ensureImage(docker, spec.image, io, never) : await buildImage(docker, spec, io, never);
        if ('failure' in image) throw new MlpError('check_failed', image.failure);
        const env = { ...serverEnv(spec, '/opt/ml/model'), MLP_SERVE_COMMAND: spec.command };
        container = await docker.createContainer({
          Image: image.image,
          Cmd: ['serve'],
          Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
          WorkingDir: '/opt/ml/code',
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
              { Type: 'bind', Source: spec.modelDir, Target: '/opt/ml/model', ReadOnly: true },
              { Type: 'bind', Source: spec.pipelineDir, Target: '/opt/ml/code', ReadOnly: true },
            ],
          },
        });
        created = true;
        await container.start();
      } catch (err) {
        // One that was created but did not start goes too; if it cannot be removed, the ledger keeps it for the next daemon.
        if (created) await container!.remove({ force: true }).then(() => record.ended(), () => undefined);
        else record.ended();
        if (isConnectionError(err)) throw unreachable(err);
        if (err instanceof MlpError) throw err;
        throw new MlpError('check_failed', `the model server container could not start: ${engineMessage(err)}`);
      }

      const tail: string[] = [];
      const out = lineSplitter((l) => onLine('stdout', l), tail);
      const err = lineSplitter((l) => onLine('stderr', l), tail);
      const logs = (await container.logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      docker.modem.demuxStream(logs, sink((c) => out.write(c)), sink((c) => err.write(c)));

      const exited = container.wait().then(
        (r: { StatusCode?: number }) => ({ code: r.StatusCode ?? null, signal: null }),
        (e: unknown) => ({ code: null, signal: `lost (${engineMessage(e)})` }),
      );
      // A server that ended is gone for good: the supervisor starts a fresh container.
      const removed = exited.then(() => {
        out.flush();
        err.flush();
        return container.remove({ force: true }).then(() => record.ended(), () => undefined);
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

function sink(write: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      write(chunk);
      done();
    },
  });
}
