/** Real model server processes, a route table and raw-socket clients for the router tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { captureEndpoint } from '../../../daemon/serving/capture/layout.js';
import type { GroupRoute, Invocation, RouteLookup, RouteTable, VariantTarget } from '../../../daemon/serving/types.js';

export interface ModelProcess {
  port: number;
  target(name: string, role: VariantTarget['role'], weight: number): VariantTarget;
  stats(): Promise<{ connections: number; invocations: number }>;
  stop(): Promise<void>;
}

/**
 * Starts `model-server.mjs` as a process of its own, or another model server `command` that
 * listens on `command.port` (then it is ready when GET /ping answers).
 */
export async function startModel(
  name: string,
  env: Record<string, string> = {},
  command?: { cmd: string; args: string[]; port: number },
): Promise<ModelProcess> {
  const child: ChildProcess = command
    ? spawn(command.cmd, command.args, {
        env: { ...process.env, PORT: String(command.port), ...env },
        stdio: ['ignore', 'ignore', 'inherit'],
      })
    : spawn(process.execPath, [join(import.meta.dirname, 'model-server.mjs')], {
        env: { ...process.env, NAME: name, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`model server ${name} exited (${code}) before it was ready`))),
  );
  exited.catch(() => {});
  const port = command
    ? await Promise.race([waitForPing(command.port), exited])
    : await Promise.race([
        new Promise<number>((resolve) => createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)))),
        exited,
      ]);
  return {
    port,
    target: (variant, role, weight) => ({ name: variant, role, weight, host: '127.0.0.1', port }),
    stats: async () => (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { connections: number; invocations: number },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

async function waitForPing(port: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/ping`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return port;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no model server answered GET /ping on ${port} within 10 s`);
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A route table the test edits; lookups follow the RouteTable contract. */
export class TestRouteTable implements RouteTable {
  generation = 1;
  private routes: GroupRoute[];

  constructor(routes: GroupRoute[]) {
    this.routes = routes;
  }

  set(routes: GroupRoute[]): void {
    this.routes = routes;
    this.generation++;
  }

  lookup(pipeline: string, group: string | undefined): RouteLookup {
    const groups = this.routes.filter((r) => r.pipeline === pipeline);
    if (groups.length === 0) return { kind: 'unknown_pipeline', known: [...new Set(this.routes.map((r) => r.pipeline))] };
    if (group === undefined) {
      if (groups.length > 1) return { kind: 'group_required', groups: groups.map((r) => r.group) };
      return { kind: 'route', route: groups[0]! };
    }
    const route = groups.find((r) => r.group === group);
    return route ? { kind: 'route', route } : { kind: 'unknown_group', groups: groups.map((r) => r.group) };
  }

  endpoint(name: string): { pipeline: string; group: string } | undefined {
    const route = this.routes.find((r) => captureEndpoint(r.pipeline, r.group) === name.toLowerCase());
    return route && { pipeline: route.pipeline, group: route.group };
  }
}

export function route(pipeline: string, group: string, variants: VariantTarget[], extra: Partial<GroupRoute> = {}): GroupRoute {
  return { pipeline, group, variants, timeoutMs: 5_000, captureSamplingPercent: 100, ...extra };
}

/** What the in-test sinks saw. */
export class Observed {
  invocations: Invocation[] = [];
  metrics: { pipeline: string; group: string; variant: string; status: number; latencyMs: number; at: number }[] = [];
  capture = { record: (inv: Invocation) => void this.invocations.push(inv) };
  sink = {
    observe: (pipeline: string, group: string, variant: string, status: number, latencyMs: number, at: number) =>
      void this.metrics.push({ pipeline, group, variant, status, latencyMs, at }),
  };
}

/**
 * Writes `chunks` to the router on one connection (with `gapMs` between them) and returns all it
 * answered, once it closes the connection or has been silent for `quietMs`.
 */
export function rawExchange(
  port: number,
  chunks: (string | Buffer)[],
  opts: { gapMs?: number; quietMs?: number } = {},
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let quiet: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(quiet);
      socket.destroy();
      resolve({ text: Buffer.concat(got).toString('latin1'), closed });
    };
    const arm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), opts.quietMs ?? 500);
    };
    socket.on('data', (d) => {
      got.push(d);
      arm();
    });
    socket.on('end', () => finish(true));
    socket.on('error', () => finish(true));
    const send = async () => {
      for (const c of chunks) {
        if (socket.destroyed) break;
        socket.write(c);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    };
    // A write that fails ends the exchange the way a reset does: what was answered so far is the result.
    socket.on('connect', () => {
      send().then(arm, () => finish(true));
    });
  });
}

/** The responses in a raw answer: status, headers (lower-case), body. */
export function parseResponses(text: string): { status: number; headers: Record<string, string>; body: string }[] {
  const out: { status: number; headers: Record<string, string>; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}
