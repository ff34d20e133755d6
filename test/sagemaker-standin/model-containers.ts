/**
 * A production variant's model server, run as SageMaker runs it: `docker run <Image> serve` with the
 * Model's `model.tar.gz` (ModelDataUrl, fetched from moto's S3) unpacked read-only at /opt/ml/model and
 * the PrimaryContainer's Environment. One difference, because this machine's containers share the host's
 * network: the server must listen on HOST:PORT from its environment (127.0.0.1 and a free port) instead
 * of 0.0.0.0:8080, as under mlp's docker backend.
 */
import Docker from 'dockerode';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseS3 } from './s3Files.js';

export const STANDIN_LABEL = 'mlp.sagemaker-standin';

export interface ModelSpec {
  name: string;
  image: string;
  modelDataUrl?: string;
  environment: Record<string, string>;
}

export interface ModelServer {
  /** http://127.0.0.1:PORT, where /ping and /invocations answer. */
  url: string;
  stop(): Promise<void>;
}

export interface ModelContainers {
  start(endpoint: string, variant: string, model: ModelSpec): Promise<ModelServer>;
  stopAll(): Promise<void>;
}

export function createModelContainers(opts: {
  docker: Docker;
  s3: S3Client;
  instance: string;
  labels: Record<string, string>;
  pingTimeoutMs: number;
}): ModelContainers {
  const running = new Set<ModelServer>();
  let workRoot: Promise<string> | undefined;
  const work = () => (workRoot ??= mkdtemp(join(tmpdir(), 'mlp-sagemaker-standin-')));

  return {
    async start(endpoint, variant, model) {
      const modelDir = await mkdtemp(join(await work(), `${endpoint}-${variant}-`));
      let container: Docker.Container | undefined;
      const stop = async () => {
        running.delete(server);
        await container?.remove({ force: true }).catch(() => undefined); // already gone
        await rm(modelDir, { recursive: true, force: true });
      };
      const port = await freePort();
      const server: ModelServer = { url: `http://127.0.0.1:${port}`, stop };
      running.add(server);
      try {
        await unpackModel(opts.s3, model.modelDataUrl, modelDir);
        container = await opts.docker.createContainer({
          Image: model.image,
          Cmd: ['serve'],
          Env: Object.entries({ ...model.environment, HOST: '127.0.0.1', PORT: String(port) }).map(([k, v]) => `${k}=${v}`),
          Labels: {
            [STANDIN_LABEL]: opts.instance,
            'mlp.sagemaker-standin.endpoint': endpoint,
            'mlp.sagemaker-standin.variant': variant,
            ...opts.labels,
          },
          HostConfig: {
            NetworkMode: 'host',
            Init: true,
            Mounts: [{ Type: 'bind', Source: modelDir, Target: '/opt/ml/model', ReadOnly: true }],
          },
        });
        await container.start();
        await waitForPing(server.url, container, opts.pingTimeoutMs, variant);
        return server;
      } catch (err) {
        await stop();
        throw err;
      }
    },
    async stopAll() {
      await Promise.all([...running].map((s) => s.stop()));
      if (workRoot) await rm(await workRoot, { recursive: true, force: true });
      workRoot = undefined;
    },
  };
}

async function unpackModel(s3: S3Client, modelDataUrl: string | undefined, dir: string): Promise<void> {
  if (!modelDataUrl) return;
  const { bucket, key } = parseS3(modelDataUrl);
  let bytes: Uint8Array;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    bytes = await object.Body!.transformToByteArray();
  } catch (err) {
    throw new Error(`could not download the model artifact ${modelDataUrl}: ${(err as Error).message}`, { cause: err });
  }
  const archive = `${dir}.tar.gz`;
  await writeFile(archive, bytes);
  await mkdir(dir, { recursive: true });
  const tar = spawnSync('tar', ['-xzf', archive, '-C', dir], { encoding: 'utf8' });
  await rm(archive, { force: true });
  if (tar.status !== 0) throw new Error(`the model artifact ${modelDataUrl} is not a gzipped tar archive: ${tar.stderr.trim()}`);
}

/** SageMaker's health check: the variant is ready when GET /ping answers 200. */
async function waitForPing(url: string, container: Docker.Container, timeoutMs: number, variant: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    const state = await container.inspect().then((i) => i.State);
    if (!state.Running) {
      const logs = (await container.logs({ stdout: true, stderr: true, tail: 20 })).toString('utf8').replace(/[\x00-\x08]/g, '');
      throw new Error(
        `The primary container for production variant ${variant} exited with code ${state.ExitCode} before passing the ping health check: ${logs.trim()}`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(`The primary container for production variant ${variant} did not pass the ping health check within ${timeoutMs} ms.`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
