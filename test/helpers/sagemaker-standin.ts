/**
 * The SageMaker stand-in (test/sagemaker-standin/) as a child process in front of a moto server:
 * `const standin = await startStandin(moto)`; give the code under test `standin.env` (the standard AWS
 * variables: every client, SageMaker Runtime included, reaches the stand-in, which passes what moto does
 * on to moto). Also: images and model artifacts for its endpoints.
 */
import Docker from 'dockerode';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Moto } from './moto.js';
import { DOCKER_SOCKET, TEST_IMAGE } from './services.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '..', 'sagemaker-standin', 'main.ts');
const STANDIN_LABEL = 'mlp.sagemaker-standin';

export interface Fault {
  /** A SageMaker or CloudWatch operation name, or InvokeEndpoint. */
  action: string;
  /** The AWS error code, e.g. ThrottlingException, AccessDeniedException, ServiceUnavailable. */
  error: string;
  count?: number;
  message?: string;
  status?: number;
}

export interface Standin {
  url: string;
  /** moto's variables with AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME at the stand-in (and AWS_DEFAULT_REGION for boto3). */
  env: Record<string, string>;
  /** The next `count` calls of `action` fail with `error`. */
  inject(fault: Fault): Promise<void>;
  /** Writes pending Data Capture records and metrics now (instead of at the next flush tick). */
  flush(): Promise<void>;
  /** Forgets endpoints (removing their containers), faults and pending records, and resets moto. */
  reset(): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

export async function startStandin(
  moto: Moto,
  opts: { transitionMs?: number; flushMs?: number; pingTimeoutMs?: number } = {},
): Promise<Standin> {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      STANDIN_MOTO_URL: moto.url,
      STANDIN_TRANSITION_MS: String(opts.transitionMs ?? 300),
      STANDIN_FLUSH_MS: String(opts.flushMs ?? 1_000),
      STANDIN_PING_TIMEOUT_MS: String(opts.pingTimeoutMs ?? 30_000),
    },
  });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const killOnExit = () => {
    proc.kill('SIGKILL');
    removeContainers(proc.pid!);
  };
  process.once('exit', killOnExit);

  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the SageMaker stand-in did not start within 20 s\n${output}`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      keep(d);
      const match = /listening (\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the SageMaker stand-in exited with ${code}\n${output}`));
    });
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (!res.ok) throw new Error(`stand-in ${method} ${path} answered HTTP ${res.status}: ${await res.text()}`);
  };
  return {
    url,
    env: { ...moto.env, AWS_DEFAULT_REGION: moto.env.AWS_REGION!, AWS_ENDPOINT_URL: url, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: url },
    inject: (fault) => admin('POST', '/standin/faults', fault),
    flush: () => admin('POST', '/standin/flush'),
    reset: () => admin('POST', '/standin/reset'),
    log: () => output,
    async stop() {
      process.off('exit', killOnExit);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      removeContainers(proc.pid!); // only when it was killed before removing them itself
    },
  };
}

function removeContainers(pid: number): void {
  const list = spawnSync('docker', ['ps', '-aq', '--filter', `label=${STANDIN_LABEL}=standin-${pid}`], { encoding: 'utf8' });
  const ids = list.stdout?.split('\n').filter(Boolean) ?? [];
  if (ids.length) spawnSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}

/**
 * Builds `tag` FROM the test image with test/fixtures/sagemaker/serve as its `serve` command (see that
 * file for the model format). Remove it with removeImage.
 */
export async function buildServingImage(tag: string): Promise<void> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const context = mkdtempSync(join(tmpdir(), 'mlp-serving-image-'));
  try {
    writeFileSync(join(context, 'Dockerfile'), `FROM ${TEST_IMAGE}\nCOPY serve /usr/local/bin/serve\n`);
    writeFileSync(join(context, 'serve'), readFileSync(join(here, '..', 'fixtures', 'sagemaker', 'serve')));
    chmodSync(join(context, 'serve'), 0o755);
    const stream = await docker.buildImage({ context, src: ['Dockerfile', 'serve'] }, { t: tag, rm: true, forcerm: true });
    await new Promise<void>((resolve, reject) => {
      let failed: string | undefined;
      docker.modem.followProgress(
        stream,
        (err: Error | null) => (err || failed ? reject(err ?? new Error(`building ${tag} failed: ${failed}`)) : resolve()),
        (event: { error?: string }) => {
          if (event.error) failed = event.error;
        },
      );
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

export async function removeImage(tag: string): Promise<void> {
  await new Docker({ socketPath: DOCKER_SOCKET })
    .getImage(tag)
    .remove({ force: true })
    .catch(() => undefined); // never built
}

/** A gzipped tar archive holding `files` at its root, as a SageMaker model.tar.gz. */
export function modelTarball(files: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-model-tar-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const tar = spawnSync('tar', ['-czf', '-', '-C', dir, '.'], { maxBuffer: 1 << 28 });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
    return tar.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
