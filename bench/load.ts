/**
 * What the router benchmarks share (bench/router.ts, bench/router-mlpd.ts): wrk runs with the CPU time
 * they cost a process, nginx as the reference proxy, ports, and waiting for a process to listen.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time (user + system) of the processes charged for the target, per request, in µs. */
  cpuPerRequest: number;
}

/** One wrk run against `url`; `cpu` reads the CPU time (ms) of what is charged for it, before and after. */
export function wrk(url: string, cpu: () => number, script: string, seconds: number, connections: number, threads: number): Sample {
  const cpuBefore = cpu();
  const r = spawnSync('wrk', [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url], { encoding: 'utf8' });
  const used = cpu() - cpuBefore;
  if (r.status !== 0) throw new Error(`wrk failed against ${url}: ${r.stderr || r.stdout}`);
  const out = r.stdout;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = duration(/^\s+50%\s+(\S+)/m.exec(out)?.[1]);
  const p99 = duration(/^\s+99%\s+(\S+)/m.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  if (!Number.isFinite(rps)) throw new Error(`cannot read wrk's output:\n${out}`);
  return { rps, p50, p99, errors, cpuPerRequest: (used * 1000) / requests };
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU time (user + system) of a process, its threads and (unless told not to) its child processes so far, in ms (Linux; NaN elsewhere). */
export function cpuMs(pid: number, withChildren = true): number {
  if (!existsSync(`/proc/${pid}`)) return Number.NaN;
  let ticks = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      // fields after the command name (which may contain spaces): utime and stime are the 12th and 13th
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      if (!withChildren) continue;
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean))
        ticks += (cpuMs(Number(child)) * CLOCK_TICKS) / 1000;
    } catch {
      // the thread ended meanwhile
    }
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

/** wrk's `385.00us` / `1.23ms` / `1.01s` in ms. */
function duration(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export function hasCommand(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).error === undefined;
}

export function findNginx(): string | undefined {
  if (hasCommand('nginx', ['-v'])) return 'nginx';
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) => existsSync(p));
}

/** Starts a process and waits until its port accepts connections. */
export async function start(what: string, cmd: string, args: string[], env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 20_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within 20 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

/** nginx with `workers` worker processes on `port`, proxying POST `location` to the model's /invocations over keep-alive connections. */
export async function startNginx(
  bin: string,
  dir: string,
  port: number,
  modelPort: number,
  workers: number,
  location: string,
): Promise<ChildProcess> {
  const prefix = join(dir, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream model { server 127.0.0.1:${modelPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location = ${location} {
      proxy_pass http://model/invocations;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  return start('nginx', bin, ['-p', prefix, '-c', conf, '-g', 'daemon off;'], {}, port);
}

/** `n` different ports free right now (another run of this benchmark may be going on at the same time). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
        }),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
