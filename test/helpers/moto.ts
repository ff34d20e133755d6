/**
 * A real moto server (AWS stand-in) as a child process on a free port, one per test file:
 * `before(startMoto)`, `beforeEach(reset)`, `after(stop)`. Give the code under test `env`
 * (the standard AWS variables), as a child's environment or via Object.assign(process.env, env).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { PYTHON_VENV } from './services.js';

export interface Moto {
  url: string;
  /** AWS_ENDPOINT_URL, AWS_REGION, test credentials, one SDK attempt per call, no instance metadata lookups. */
  env: Record<string, string>;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Queues what moto's InvokeEndpoint answers next, in order (it ignores the endpoint and TargetVariant). */
  queueResults(
    results: { Body: string; ContentType?: string; InvokedProductionVariant?: string; CustomAttributes?: string }[],
  ): Promise<void>;
  /** moto's log (every request), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export const MOTO_REGION = 'us-east-1';

/** The test venv's Python (with moto) when test/setup/ensure.sh made it, else the system's python3. */
export function motoPython(): string {
  return existsSync(PYTHON_VENV) ? PYTHON_VENV : 'python3';
}

export async function startMoto(opts: { timeoutMs?: number } = {}): Promise<Moto> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), opts.timeoutMs ?? 20_000);
    } catch (err) {
      lastError = err; // most likely someone took the free port between the check and moto's bind
    }
  }
  throw lastError;
}

async function startOnce(port: number, timeoutMs: number): Promise<Moto> {
  const url = `http://127.0.0.1:${port}`;
  const python = motoPython();
  const proc = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // A test file that crashes must not leave moto running.
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      process.off('exit', killOnExit);
      throw new Error(
        `moto server (${python} -m moto.server) exited with ${proc.exitCode ?? proc.signalCode}; install moto[server] 5.x (test/setup/ensure.sh)\n${output}`,
      );
    }
    if (await answers(url)) break;
    if (Date.now() > deadline) {
      await kill(proc, exited);
      process.off('exit', killOnExit);
      throw new Error(`moto server did not answer on ${url} within ${timeoutMs}ms\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const post = async (path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method: 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (!res.ok) throw new Error(`moto ${path} answered HTTP ${res.status}: ${await res.text()}`);
  };
  return {
    url,
    env: {
      AWS_ENDPOINT_URL: url,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      // moto answers calls it lacks with HTTP 500, which the SDK would otherwise retry with backoff.
      AWS_MAX_ATTEMPTS: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    reset: () => post('/moto-api/reset'),
    queueResults: (results) => post('/moto-api/static/sagemaker/endpoint-results', { region: MOTO_REGION, results }),
    log: () => output,
    async stop() {
      process.off('exit', killOnExit);
      await kill(proc, exited);
    },
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

async function kill(proc: ChildProcess, exited: Promise<void>) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
