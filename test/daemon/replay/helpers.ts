/** Real model server processes (model-server.mjs) and captured requests for the replay tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { modelAt, type ModelConnector } from '../../../daemon/replay/model-client.js';
import type { CapturedRequest } from '../../../daemon/serving/capture/format.js';

export interface TestModel extends ModelConnector {
  host: string;
  port: number;
  name: string;
  stats(): Promise<{ invocations: number; connections: number }>;
  stop(): Promise<void>;
}

const SERVER = join(import.meta.dirname, 'model-server.mjs');

/** Starts model-server.mjs with `env` (FAIL_MOD, FLAKY_MOD, DELAY_MS, SCALE, ...). */
export async function startModel(name: string, env: Record<string, string | number> = {}): Promise<TestModel> {
  const child: ChildProcess = spawn(process.execPath, [SERVER], {
    env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  const host = '127.0.0.1';
  return {
    host,
    port,
    name,
    ...modelAt({ host, port }),
    async stats() {
      const res = await fetch(`http://${host}:${port}/stats`);
      return (await res.json()) as { invocations: number; connections: number };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** A captured request `{"x": n}` as the capture reader returns it. */
export function captured(n: number, extra: Partial<CapturedRequest> = {}): CapturedRequest {
  return {
    at: 1_763_000_000_000 + n,
    variant: 'v1',
    body: Buffer.from(JSON.stringify({ x: n })),
    contentType: 'application/json',
    response: { body: Buffer.from(JSON.stringify({ y: n })), contentType: 'application/json' },
    status: 200,
    latencyMs: 1,
    eventId: null,
    inferenceId: `req-${n}`,
    source: 'mlp',
    pipeline: 'p',
    group: 'g',
    ...extra,
  };
}

/** Requests {"x": 1} .. {"x": n}. */
export const requestsUpTo = (n: number, extra?: Parameters<typeof captured>[1]) =>
  Array.from({ length: n }, (_, i) => captured(i + 1, extra));
