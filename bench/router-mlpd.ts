/**
 * The router where users run it (issue 13, "Throughput where users run it"; figures in docs/serving.md,
 * "Router performance"): a real `mlpd start` (built dist/) serving a cheap Node model with Data Capture at
 * 100%, at 1, 2 and all cores (`--serve-workers`), each beside nginx with as many workers in front of the
 * same model server. wrk -t1 and -t2, 32 connections, POST; the rounds interleave every setting (the order
 * rotates), the table shows medians, the ratio to nginx and the CPU per request of each: mlpd's own
 * threads and its router workers (not its model servers) against nginx's master and workers.
 *
 *   npm run build && npm run bench:router-mlpd -- [--duration 3] [--rounds 5] [--warmup 1] [--connections 32]
 *                                                  [--workers 1,2,all] [--threads 1,2]
 *
 * Needs wrk and nginx: installed with apt-get (nginx-light wrk, else nginx wrk) when missing and run as root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuMs, findNginx, freePorts, hasCommand, median, startNginx, wrk, type Sample } from './load.js';
import { BIN, cleanEnv, mlpdReady, ROOT, runCli } from './mlpd.js';

const PIPELINE = 'bench';
const BODY = '{"city":"london","week":12}';

const TRAIN_MJS = `import { writeFileSync } from 'node:fs';
writeFileSync(process.env.MLP_MODEL_DIR + '/model.json', '{"demand":412.5}');
`;
/** The model: answers every POST with a small JSON prediction, as cheaply as node:http allows. */
const SERVE_MJS = `import http from 'node:http';
const answer = Buffer.from('{"demand":412.5}');
const headers = { 'content-type': 'application/json', 'content-length': answer.length };
const server = http.createServer((req, res) => {
  if (req.method === 'GET') return res.end('{}');
  req.resume();
  req.on('end', () => { res.writeHead(200, headers); res.end(answer); });
});
server.keepAliveTimeout = 120000;
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
`;

interface Setting {
  workers: number;
  daemon: ChildProcess;
  serveUrl: string;
  nginx: ChildProcess;
  nginxUrl: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '32' },
      workers: { type: 'string', default: '1,2,all' },
      threads: { type: 'string', default: '1,2' },
    },
  });
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  const cores = availableParallelism();
  const workerCounts = [...new Set(values.workers.split(',').map((w) => (w === 'all' ? cores : Number(w))))];
  const threadCounts = values.threads.split(',').map(Number);
  if (!existsSync(BIN.mlpd)) throw new Error(`${BIN.mlpd} is missing: run npm run build first`);
  const nginxBin = ensureTools();

  const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-router-mlpd-'));
  const settings: Setting[] = [];
  const stopAll = async () => {
    for (const s of settings) {
      if (s.nginx.exitCode === null) s.nginx.kill('SIGTERM');
      if (s.daemon.exitCode === null && s.daemon.signalCode === null) {
        const exited = once(s.daemon, 'exit');
        s.daemon.kill('SIGTERM');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    for (const workers of workerCounts) settings.push(await startSetting(dir, nginxBin, workers));
    const script = join(dir, 'post.lua');
    writeFileSync(script, `wrk.method = "POST"\nwrk.body = '${BODY}'\nwrk.headers["Content-Type"] = "application/json"\n`);
    printMachine({ duration, rounds, connections, workerCounts, threadCounts });

    interface Run {
      key: string;
      setting: Setting;
      threads: number;
      target: 'mlpd' | 'nginx';
      url: string;
      cpu: () => number;
    }
    const runs: Run[] = settings.flatMap((s) =>
      threadCounts.flatMap((threads) => [
        {
          key: `${s.workers}/t${threads}/mlpd`,
          setting: s,
          threads,
          target: 'mlpd' as const,
          url: `${s.serveUrl}/endpoints/${PIPELINE}/invocations`,
          cpu: () => daemonCpuMs(s.daemon.pid!),
        },
        {
          key: `${s.workers}/t${threads}/nginx`,
          setting: s,
          threads,
          target: 'nginx' as const,
          url: `${s.nginxUrl}/endpoints/${PIPELINE}/invocations`,
          cpu: () => cpuMs(s.nginx.pid!),
        },
      ]),
    );
    for (const r of runs) wrk(r.url, r.cpu, script, warmup, connections, r.threads);
    const results = new Map<string, Sample[]>(runs.map((r) => [r.key, []]));
    for (let round = 0; round < rounds; round++) {
      const order = runs.map((_, i) => runs[(i + round) % runs.length]!);
      const line: string[] = [];
      for (const r of order) {
        const s = wrk(r.url, r.cpu, script, duration, connections, r.threads);
        results.get(r.key)!.push(s);
        line.push(`${r.key} ${Math.round(s.rps)}`);
      }
      console.log(`round ${round + 1}/${rounds}: ${line.join(', ')}`);
    }

    const rows = settings.flatMap((s) =>
      threadCounts.map((threads) => {
        const m = results.get(`${s.workers}/t${threads}/mlpd`)!;
        const n = results.get(`${s.workers}/t${threads}/nginx`)!;
        const perRound = (f: (a: Sample, b: Sample) => number) => median(m.map((x, i) => f(x, n[i]!)));
        return [
          `${s.workers}`,
          `-t${threads}`,
          fmt(median(m.map((x) => x.rps)), 0),
          `${fmt(Math.min(...m.map((x) => x.rps)), 0)}–${fmt(Math.max(...m.map((x) => x.rps)), 0)}`,
          fmt(median(n.map((x) => x.rps)), 0),
          `${fmt(Math.min(...n.map((x) => x.rps)), 0)}–${fmt(Math.max(...n.map((x) => x.rps)), 0)}`,
          `${perRound((a, b) => a.rps / b.rps).toFixed(2)}×`,
          fmt(median(m.map((x) => x.cpuPerRequest)), 1),
          fmt(median(n.map((x) => x.cpuPerRequest)), 1),
          `${perRound((a, b) => a.cpuPerRequest / b.cpuPerRequest).toFixed(2)}×`,
          String(m.reduce((a, x) => a + x.errors, 0) + n.reduce((a, x) => a + x.errors, 0)),
        ];
      }),
    );
    table(
      [
        'workers',
        'wrk',
        'mlpd req/s',
        'range',
        'nginx req/s',
        'range',
        'vs nginx',
        'mlpd CPU µs/req',
        'nginx CPU µs/req',
        'CPU vs nginx',
        'errors',
      ],
      rows,
    );
    console.log(
      '("vs nginx", "CPU vs nginx": median of per-round ratios; CPU: mlpd\'s threads and router workers, not its model server; nginx: master and workers)',
    );
  } finally {
    await stopAll();
  }
}

/** wrk and nginx, installed with apt-get when missing (as root); the nginx binary. */
function ensureTools(): string {
  const missing = () => [!hasCommand('wrk', ['--version']) && 'wrk', !findNginx() && 'nginx'].filter(Boolean) as string[];
  if (missing().length > 0 && process.getuid?.() === 0 && hasCommand('apt-get', ['--version'])) {
    console.error(`installing ${missing().join(' and ')} with apt-get ...`);
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    const light = spawnSync('apt-get', ['install', '-y', '-qq', 'nginx-light', 'wrk'], { stdio: 'inherit' });
    if (light.status !== 0) spawnSync('apt-get', ['install', '-y', '-qq', 'nginx', 'wrk'], { stdio: 'inherit' });
  }
  if (missing().length > 0) {
    console.error(
      `bench:router-mlpd needs ${missing().join(' and ')}: apt-get install -y nginx-light wrk (as root; macOS: brew install nginx wrk)`,
    );
    process.exit(2);
  }
  return findNginx()!;
}

/** A repo with the bench pipeline, mlpd with `workers` router workers, v1 live, and nginx with as many workers in front of its model server. */
async function startSetting(dir: string, nginxBin: string, workers: number): Promise<Setting> {
  const home = join(dir, `w${workers}`);
  const repo = join(home, 'repo');
  mkdirSync(join(repo, PIPELINE), { recursive: true });
  const node = (script: string) => JSON.stringify(`'${process.execPath.replaceAll("'", `'\\''`)}' ${script}`);
  writeFileSync(join(repo, 'mlp.yaml'), '{}\n');
  writeFileSync(
    join(repo, PIPELINE, 'pipeline.yaml'),
    `pipeline:
  name: ${PIPELINE}
  steps:
    - name: train
      command: ${node('train.mjs')}
  serve:
    command: ${node('serve.mjs')}
  deployment:
    capture:
      sampling_percent: 100
`,
  );
  writeFileSync(join(repo, PIPELINE, 'train.mjs'), TRAIN_MJS);
  writeFileSync(join(repo, PIPELINE, 'serve.mjs'), SERVE_MJS);
  const daemon = spawn(
    process.execPath,
    [
      BIN.mlpd,
      'start',
      '--repo',
      repo,
      '--data-dir',
      join(home, 'data'),
      '--port',
      '0',
      '--serve-port',
      '0',
      '--serve-workers',
      String(workers),
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  daemon.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const [apiUrl, serveUrl] = await mlpdReady(daemon, () => log, 30_000);
  const env = { MLP_URL: apiUrl, MLP_TOKEN: readFileSync(join(home, 'data', 'token'), 'utf8').trim() };
  const deployed = await runCli(['deploy', PIPELINE], env);
  if (deployed.code !== 0) throw new Error(`mlp deploy: ${deployed.stderr}`);
  const deadline = Date.now() + 60_000;
  let modelPort: number | null = null;
  while (modelPort === null) {
    if (Date.now() > deadline) throw new Error(`v1 did not go live within 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 300));
    const st = await runCli(['status', '--json'], env);
    const p = (
      JSON.parse(st.stdout || '{"pipelines":[]}') as { pipelines: { variants: { state: string; weight: number; port: number | null }[] }[] }
    ).pipelines[0];
    const v = p?.variants.find((x) => x.state === 'live' && x.weight === 100);
    if (v?.port) modelPort = v.port;
  }
  const [nginxPort] = (await freePorts(1)) as [number];
  const nginx = await startNginx(nginxBin, home, nginxPort, modelPort, workers, `/endpoints/${PIPELINE}/invocations`);
  return { workers, daemon, serveUrl, nginx, nginxUrl: `http://127.0.0.1:${nginxPort}` };
}

/** CPU time (ms) of mlpd's own threads and its router workers; its model servers are not the router's cost. */
function daemonCpuMs(pid: number): number {
  let ms = cpuMs(pid, false);
  for (const child of childrenOf(pid)) {
    if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('serving/router/worker.')) ms += cpuMs(child);
  }
  return ms;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function printMachine(run: {
  duration: number;
  rounds: number;
  connections: number;
  workerCounts: number[];
  threadCounts: number[];
}): void {
  const cpu = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? 'unknown CPU';
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const wrkVersion = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim();
  const nginxVersion = spawnSync(findNginx()!, ['-v'], { encoding: 'utf8' }).stderr.trim();
  console.log(
    `machine: ${availableParallelism()} CPUs (${cpu}), load average ${load} before the run, Node ${process.version}, ${wrkVersion}, ${nginxVersion}`,
  );
  console.log(
    `load: wrk ${run.threadCounts.map((t) => `-t${t}`).join('/')} -c${run.connections} -d${run.duration}s, POST ${BODY.length}-byte JSON; ` +
      `mlpd --serve-workers ${run.workerCounts.join('/')} with capture at 100% beside nginx with as many workers; ${run.rounds} interleaved rounds`,
  );
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  console.log('');
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 1) + ':').join('|')}|`);
  for (const r of rows) console.log(line(r));
}

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

await main();
