/**
 * Router benchmark (issue 4, "Performance"; figures in docs/serving.md, "Router performance").
 *
 * One cheap Node model server; the same wrk load (POST, small JSON body) against: the model
 * directly, the mlp router with capture off, the router with Data Capture at 100%, the router
 * with a serving token (MLP_SERVE_TOKEN; the load then carries its Authorization header), the
 * router with capture off called in the SageMaker form (boto3's headers, endpoint `<pipeline>--<group>`), and
 * nginx as a keep-alive reverse proxy in front of the same model. Targets are interleaved round by round (the
 * order rotates) so drift on a shared machine hits all of them alike; the table shows medians.
 *
 *   npm run bench:router -- [--duration 3] [--rounds 6] [--warmup 1] [--connections 32] [--threads 2]
 *                           [--router-workers 1] [--nginx-workers 2] [--only direct,router,capture,token,sagemaker,nginx]
 *
 * Needs wrk and nginx (Debian: apt-get install -y wrk nginx). The router and the model run in
 * processes of their own, like nginx, so the script itself takes no CPU during a measurement.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCaptureWriter } from '../daemon/serving/capture/writer.js';
import { createLiveMetrics } from '../daemon/serving/metrics/live-metrics.js';
import { startRouter } from '../daemon/serving/router/router.js';
import type { RouteTable } from '../daemon/serving/types.js';
import { cpuMs, findNginx, freePorts, hasCommand, median, start, startNginx, wrk, type Sample } from './load.js';

const PIPELINE = 'bench';
const BODY = '{"city":"london","week":12}';
/** The serving token of the `token` target: as long as `openssl rand -hex 32`, as docs/serving.md suggests. */
const SERVE_TOKEN = 'b'.repeat(64);

/** The model: answers every POST with a small JSON prediction, as cheaply as node:http allows. */
const MODEL_SERVER = `
import http from 'node:http';
const answer = Buffer.from('{"demand":412.5}');
const headers = { 'content-type': 'application/json', 'content-length': answer.length };
const server = http.createServer((req, res) => { res.writeHead(200, headers); res.end(answer); });
server.keepAliveTimeout = 120000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

interface Target {
  key: 'direct' | 'router' | 'capture' | 'token' | 'sagemaker' | 'nginx';
  label: string;
  /** wrk's request script, when not the common one. */
  script?: string;
  url: string;
  /** The process whose CPU time is charged to this target: the model when called directly, else the proxy. */
  pid: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '6' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '32' },
      threads: { type: 'string', default: '2' },
      'router-workers': { type: 'string', default: '1' },
      'nginx-workers': { type: 'string', default: '2' },
      only: { type: 'string' },
      // internal: run one router process (spawned by the benchmark itself)
      serve: { type: 'boolean', default: false },
      port: { type: 'string' },
      'model-port': { type: 'string' },
      'capture-dir': { type: 'string' },
      token: { type: 'string' },
    },
  });
  if (values.serve)
    return serveRouter(
      Number(values.port),
      Number(values['model-port']),
      values['capture-dir'],
      Number(values['router-workers']),
      values.token,
    );

  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  const threads = Number(values.threads);
  const workers = Number(values['router-workers']);
  const nginxBin = findNginx();
  const missing = [!hasCommand('wrk', ['--version']) && 'wrk', !nginxBin && 'nginx'].filter(Boolean);
  if (missing.length > 0) {
    console.error(`bench:router needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed.`);
    console.error(`Install: apt-get install -y ${missing.join(' ')}   (Debian/Ubuntu, as root; macOS: brew install ${missing.join(' ')})`);
    process.exit(2);
  }

  const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-router-'));
  const children: ChildProcess[] = [];
  const stopAll = () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    stopAll();
    process.exit(130);
  });
  try {
    const [modelPort, routerPort, capturePort, tokenPort, nginxPort] = (await freePorts(5)) as [number, number, number, number, number];
    const model = await start(
      'model',
      process.execPath,
      ['--input-type=module', '-e', MODEL_SERVER],
      { PORT: String(modelPort) },
      modelPort,
    );
    children.push(model);
    const self = [...process.execArgv, process.argv[1]!];
    const router = await start(
      'router',
      process.execPath,
      [...self, '--serve', '--port', String(routerPort), '--model-port', String(modelPort), '--router-workers', String(workers)],
      {},
      routerPort,
    );
    children.push(router);
    const captureDir = join(dir, 'capture');
    const captureRouter = await start(
      'router+capture',
      process.execPath,
      [
        ...self,
        '--serve',
        '--port',
        String(capturePort),
        '--model-port',
        String(modelPort),
        '--capture-dir',
        captureDir,
        '--router-workers',
        String(workers),
      ],
      {},
      capturePort,
    );
    children.push(captureRouter);
    const tokenRouter = await start(
      'router+token',
      process.execPath,
      [
        ...self,
        '--serve',
        '--port',
        String(tokenPort),
        '--model-port',
        String(modelPort),
        '--token',
        SERVE_TOKEN,
        '--router-workers',
        String(workers),
      ],
      {},
      tokenPort,
    );
    children.push(tokenRouter);
    const nginxWorkers = Number(values['nginx-workers']);
    const nginx = await startNginx(nginxBin!, dir, nginxPort, modelPort, nginxWorkers, `/endpoints/${PIPELINE}/invocations`);
    children.push(nginx);

    const script = join(dir, 'post.lua');
    writeFileSync(script, `wrk.method = "POST"\nwrk.body = '${BODY}'\nwrk.headers["Content-Type"] = "application/json"\n`);
    const tokenScript = join(dir, 'post-token.lua');
    writeFileSync(tokenScript, `${readFileSync(script, 'utf8')}wrk.headers["Authorization"] = "Bearer ${SERVE_TOKEN}"\n`);
    // InvokeEndpoint as boto3 sends it: SigV4 headers (not checked without a token), the endpoint named <pipeline>--<group>.
    const sageMakerScript = join(dir, 'post-sagemaker.lua');
    writeFileSync(
      sageMakerScript,
      `${readFileSync(script, 'utf8')}wrk.headers["X-Amz-Date"] = "20261202T100000Z"\nwrk.headers["X-Amzn-SageMaker-Inference-Id"] = "bench-1"\n` +
        `wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${'0'.repeat(64)}"\n`,
    );
    const endpoint = `/endpoints/${PIPELINE}/invocations`;
    let targets: Target[] = [
      { key: 'direct', label: 'model directly', url: `http://127.0.0.1:${modelPort}/invocations`, pid: model.pid! },
      { key: 'router', label: 'mlp router, capture off', url: `http://127.0.0.1:${routerPort}${endpoint}`, pid: router.pid! },
      { key: 'capture', label: 'mlp router, capture 100%', url: `http://127.0.0.1:${capturePort}${endpoint}`, pid: captureRouter.pid! },
      {
        key: 'token',
        label: 'mlp router, serving token',
        url: `http://127.0.0.1:${tokenPort}${endpoint}`,
        pid: tokenRouter.pid!,
        script: tokenScript,
      },
      {
        key: 'sagemaker',
        label: 'mlp router, SageMaker form',
        url: `http://127.0.0.1:${routerPort}/endpoints/${PIPELINE}--default/invocations`,
        pid: router.pid!,
        script: sageMakerScript,
      },
      {
        key: 'nginx',
        label: `nginx (${nginxWorkers} worker${nginxWorkers > 1 ? 's' : ''}, keepalive)`,
        url: `http://127.0.0.1:${nginxPort}${endpoint}`,
        pid: nginx.pid!,
      },
    ];
    if (values.only) targets = targets.filter((t) => values.only!.split(',').includes(t.key));

    printMachine(workers, { duration, rounds, connections, threads });
    for (const t of targets) wrk(t.url, () => cpuMs(t.pid), t.script ?? script, warmup, connections, threads);

    const results = new Map<string, Sample[]>(targets.map((t) => [t.key, []]));
    for (let round = 0; round < rounds; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      const line: string[] = [];
      for (const t of order) {
        const s = wrk(t.url, () => cpuMs(t.pid), t.script ?? script, duration, connections, threads);
        results.get(t.key)!.push(s);
        line.push(`${t.key} ${Math.round(s.rps)}`);
      }
      console.log(`round ${round + 1}/${rounds}: ${line.join(', ')}`);
    }
    printTable(targets, results);
  } finally {
    stopAll();
  }
}

/** The child process mode: one router (or a cluster of them) in front of the model. */
async function serveRouter(
  port: number,
  modelPort: number,
  captureDir: string | undefined,
  workers: number,
  token: string | undefined,
): Promise<void> {
  if (workers > 1 && cluster.isPrimary) {
    for (let i = 0; i < workers; i++) cluster.fork();
    let ready = 0;
    cluster.on('message', () => {
      if (++ready === workers) process.stdout.write('listening\n');
    });
    process.on('SIGTERM', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill();
      process.exit(0);
    });
    return;
  }
  const route = {
    pipeline: PIPELINE,
    group: 'default',
    variants: [{ name: 'v1', role: 'current' as const, weight: 100, host: '127.0.0.1', port: modelPort }],
    timeoutMs: 60_000,
    captureSamplingPercent: 100,
  };
  const table: RouteTable = {
    generation: 1,
    lookup: (pipeline) => (pipeline === PIPELINE ? { kind: 'route', route } : { kind: 'unknown_pipeline', known: [PIPELINE] }),
    endpoint: (name) => (name === `${PIPELINE}--default` ? { pipeline: PIPELINE, group: 'default' } : undefined),
  };
  // As in the daemon: live metrics always, Data Capture (the real writer, files on disk) when asked.
  const metrics = createLiveMetrics();
  const capture =
    captureDir === undefined ? undefined : createCaptureWriter({ dir: captureDir, retention: { days: 1, maxBytes: 2 * 1024 ** 3 } });
  await startRouter({ host: '127.0.0.1', port, table, metrics, ...(capture ? { capture } : {}), ...(token ? { token } : {}) });
  if (cluster.isWorker) process.send!('ready');
  else process.stdout.write('listening\n');
}

function printTable(targets: Target[], results: Map<string, Sample[]>): void {
  const of = (key: string) => results.get(key);
  const direct = of('direct');
  const nginx = of('nginx');
  // Ratios and added latency are taken round by round (each round's targets ran back to back), then the median.
  const perRound = (samples: Sample[], base: Sample[] | undefined, f: (s: Sample, b: Sample) => number) =>
    base ? median(samples.map((s, i) => f(s, base[i]!))) : Number.NaN;
  const rows = targets.map((t) => {
    const s = of(t.key)!;
    return [
      t.label,
      fmt(median(s.map((x) => x.rps)), 0),
      `${fmt(Math.min(...s.map((x) => x.rps)), 0)}–${fmt(Math.max(...s.map((x) => x.rps)), 0)}`,
      ratio(perRound(s, nginx, (a, b) => a.rps / b.rps)),
      ratio(perRound(s, direct, (a, b) => a.rps / b.rps)),
      fmt(median(s.map((x) => x.p50)), 2),
      fmt(median(s.map((x) => x.p99)), 2),
      t.key === 'direct'
        ? ''
        : fmt(
            perRound(s, direct, (a, b) => a.p50 - b.p50),
            2,
          ),
      t.key === 'direct'
        ? ''
        : fmt(
            perRound(s, direct, (a, b) => a.p99 - b.p99),
            2,
          ),
      fmt(median(s.map((x) => x.cpuPerRequest)), 1),
      String(s.reduce((a, x) => a + x.errors, 0)),
    ];
  });
  const header = ['target', 'req/s', 'range', 'vs nginx', 'vs direct', 'p50 ms', 'p99 ms', '+p50 ms', '+p99 ms', 'CPU µs/req', 'errors'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log('');
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`);
  for (const r of rows) console.log(line(r));
  const off = of('router');
  const on = of('capture');
  if (off && on) {
    const cost = median(on.map((s, i) => 1 - s.rps / off[i]!.rps));
    console.log(`\ncapture at 100% costs ${(cost * 100).toFixed(1)}% of the router's throughput (median over rounds)`);
  }
  const token = of('token');
  if (off && token) {
    const cost = median(token.map((s, i) => 1 - s.rps / off[i]!.rps));
    console.log(`the serving token costs ${(cost * 100).toFixed(1)}% of the router's throughput (median over rounds)`);
  }
  console.log('(+p50/+p99: latency added over calling the model directly, same round; "vs": median of per-round ratios;');
  console.log(' CPU µs/req: CPU time of the process under test per request, the model for "directly", the proxy otherwise)');
}

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');

function printMachine(workers: number, run: { duration: number; rounds: number; connections: number; threads: number }): void {
  const cpu = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? 'unknown CPU';
  const wrkVersion = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim();
  const nginxVersion = spawnSync(findNginx()!, ['-v'], { encoding: 'utf8' }).stderr.trim();
  console.log(`machine: ${availableParallelism()} CPUs (${cpu}), Node ${process.version}, ${wrkVersion}, ${nginxVersion}`);
  console.log(
    `load: wrk -t${run.threads} -c${run.connections} -d${run.duration}s, POST ${BODY.length}-byte JSON; ${run.rounds} interleaved rounds`,
  );
  console.log(
    `router: ${workers} process${workers > 1 ? 'es (cluster)' : ''}, live metrics on; capture: the Data Capture writer (daemon/serving/capture/writer.ts), JSON Lines on disk`,
  );
}

await main();
