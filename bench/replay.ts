/**
 * Replay benchmark (issue 5, "Performance"; figures in docs/rollouts.md, "Replay").
 *
 * 10,000 requests written by the real capture writer into a temp folder, two cheap Node model servers
 * (the current and the candidate, each its own process), and at the same concurrency, round by round
 * (the order rotates, so drift on a shared machine hits all alike; the table shows medians):
 *
 *   autocannon ×1     autocannon against one model for 2 s (its steady rate)
 *   autocannon ×2     two autocannon processes at once, one per model (what side by side costs a load generator)
 *   replay, candidate only   runReplay with no current model: the same work as autocannon ×1
 *   replay, side by side     runReplay against both models: every request goes to each
 *   reading the capture      readCapture of the 10,000 records alone
 *   gate, end to end         reading the capture + side-by-side replay + latency, PSI, max_abs_diff and a python check
 *
 * Replay's rates count captured requests per second (each one a request to every model called); totals
 * count HTTP requests. Targets: candidate-side replay ≥ 0.9 × autocannon ×1, gate wall time ≤ 5 s.
 *
 *   npm run bench:replay -- [--requests 10000] [--concurrency 8] [--rounds 3] [--autocannon-seconds 2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { modelAt, type ModelAddress } from '../daemon/replay/model-client.js';
import { runReplay, type ReplayTarget } from '../daemon/replay/run.js';
import { readCapture, type CapturedRequest } from '../daemon/serving/capture/reader.js';
import { createCaptureWriter } from '../daemon/serving/capture/writer.js';

const PIPELINE = 'bench';
const GROUP = 'london';
const BODY = '{"city":"london","week":12,"features":[1.5,2.25,3,4]}';

/** The model: reads the body, answers a small JSON prediction, as cheaply as node:http allows. */
const MODEL_SERVER = `
import http from 'node:http';
const answer = Buffer.from('{"demand":412.5}');
const headers = { 'content-type': 'application/json', 'content-length': answer.length };
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, headers); res.end(answer); });
});
server.keepAliveTimeout = 120000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

const CHECK_PY = `
def no_negative_demand(records):
    bad = [r for r in records if r["candidate"]["encoding"] == "json" and r["candidate"]["body"]["demand"] < 0]
    return {"passed": not bad, "observed": len(bad)}
`;

interface Row {
  label: string;
  /** Captured requests (or autocannon requests) per second, per model. */
  perModel: number[];
  /** HTTP requests per second, all models together. */
  total: number[];
  wallMs: number[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      'autocannon-seconds': { type: 'string', default: '2' },
    },
  });
  const n = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const seconds = Number(values['autocannon-seconds']);
  const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-replay-'));
  const servers: ChildProcess[] = [];
  try {
    const current = await startModel(servers, 'v1');
    const candidate = await startModel(servers, 'v2');
    const capture = join(dir, 'capture');
    await writeCapture(capture, n);
    const pipelineDir = join(dir, 'pipeline');
    mkdirSync(join(pipelineDir, 'checks'), { recursive: true });
    writeFileSync(join(pipelineDir, 'checks', 'replay.py'), CHECK_PY);
    const read = () => readCapture({ dir: capture, pipeline: PIPELINE, group: GROUP, sinceMs: Date.now() - 86_400_000, limit: n });
    const requests: CapturedRequest[] = [];
    for await (const r of read()) requests.push(r);
    if (requests.length !== n) throw new Error(`read ${requests.length} captured requests, wrote ${n}`);

    const base = { concurrency, timeoutMs: 30_000, pipelineDir, checks: [] };
    const replayRun = async (side: boolean) => {
      const report = await runReplay({ ...base, requests, current: side ? current : null, candidate });
      if (report.verdict !== 'pass' || report.sent !== n) throw new Error(`replay did not pass: ${report.reason}`);
      return report.durationMs;
    };
    const targets: { label: string; run: () => Promise<{ perModel: number; total: number; wallMs: number }> }[] = [
      {
        label: 'autocannon ×1 (one model)',
        run: async () => {
          const r = await autocannon([candidate], seconds, concurrency);
          return { perModel: r.perModel, total: r.total, wallMs: r.wallMs };
        },
      },
      {
        label: 'autocannon ×2 (both models at once)',
        run: async () => autocannon([current, candidate], seconds, concurrency),
      },
      {
        label: 'replay, candidate only',
        run: async () => {
          const ms = await replayRun(false);
          return { perModel: (n / ms) * 1000, total: (n / ms) * 1000, wallMs: ms };
        },
      },
      {
        label: 'replay, side by side',
        run: async () => {
          const ms = await replayRun(true);
          return { perModel: (n / ms) * 1000, total: ((2 * n) / ms) * 1000, wallMs: ms };
        },
      },
      {
        label: 'reading the capture alone',
        run: async () => {
          const started = performance.now();
          let count = 0;
          for await (const _ of read()) count++;
          if (count !== n) throw new Error(`read ${count} captured requests, wrote ${n}`);
          return { perModel: NaN, total: NaN, wallMs: performance.now() - started };
        },
      },
      {
        label: 'gate end to end (read + replay + 4 checks)',
        run: async () => {
          const started = performance.now();
          const report = await runReplay({
            ...base,
            requests: read(),
            current,
            candidate,
            checks: [
              { latency: { quantile: 0.99, max_ratio: 3 } },
              { distribution: { path: '$.demand', metric: 'psi', max: 0.2 } },
              { max_abs_diff: { path: '$.demand', max: 0.01 } },
              { python: 'checks/replay.py:no_negative_demand' },
            ],
          });
          const ms = performance.now() - started;
          if (report.sent !== n || report.checks.some((c) => !c.passed && c.kind !== 'latency'))
            throw new Error(`the gate run failed: ${report.reason}`);
          return { perModel: (n / ms) * 1000, total: ((2 * n) / ms) * 1000, wallMs: ms };
        },
      },
    ];

    process.stderr.write('warming up ...\n');
    for (const t of targets) await t.run();
    const rows: Row[] = targets.map((t) => ({ label: t.label, perModel: [], total: [], wallMs: [] }));
    for (let round = 0; round < rounds; round++) {
      process.stderr.write(`round ${round + 1} of ${rounds} ...\n`);
      for (let k = 0; k < targets.length; k++) {
        const i = (k + round) % targets.length;
        const r = await targets[i]!.run();
        rows[i]!.perModel.push(r.perModel);
        rows[i]!.total.push(r.total);
        rows[i]!.wallMs.push(r.wallMs);
      }
    }
    print(rows, { n, concurrency, rounds });
  } finally {
    for (const s of servers) s.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

type BenchModel = ReplayTarget & ModelAddress;

async function startModel(servers: ChildProcess[], name: string): Promise<BenchModel> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', MODEL_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const address = { host: '127.0.0.1', port: Number(line.toString().trim()) };
  return { ...address, ...modelAt(address), name };
}

/** `n` requests as live traffic would leave them: through the real capture writer. */
async function writeCapture(dir: string, n: number): Promise<void> {
  const writer = createCaptureWriter({ dir, retention: { days: 30, maxBytes: 1e12 } });
  const now = Date.now();
  const body = Buffer.from(BODY);
  const answer = Buffer.from('{"demand":412.5}');
  for (let i = 0; i < n; i++) {
    writer.record({
      pipeline: PIPELINE,
      group: GROUP,
      variant: 'v1',
      at: now - n + i,
      latencyMs: 1,
      status: 200,
      requestBody: body,
      requestContentType: 'application/json',
      responseBody: answer,
      responseContentType: 'application/json',
      inferenceId: `bench-${i}`,
    });
  }
  await writer.close();
}

/** Runs in a process of its own: autocannon for OPTIONS.duration seconds, timed from start to its done callback. */
const AUTOCANNON_RUNNER = `
import autocannon from 'autocannon';
const started = performance.now();
autocannon(JSON.parse(process.env.OPTIONS), (err, r) => {
  if (err) throw err;
  process.stdout.write(JSON.stringify({ ms: performance.now() - started, total: r.requests.total, errors: r.errors + r.non2xx }));
});
`;

/**
 * autocannon against each target at once (a process per target, `concurrency` connections each) for
 * `seconds`: its steady rate. (With a request count instead, it only stops at its next 1 s sampling tick.)
 */
async function autocannon(
  targets: BenchModel[],
  seconds: number,
  concurrency: number,
): Promise<{ perModel: number; total: number; wallMs: number }> {
  const runs = await Promise.all(
    targets.map(async (t) => {
      const options = {
        url: `http://${t.host}:${t.port}/invocations`,
        connections: concurrency,
        duration: seconds,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
      };
      const child = spawn(process.execPath, ['--input-type=module', '-e', AUTOCANNON_RUNNER], {
        cwd: join(import.meta.dirname, '..'),
        env: { ...process.env, OPTIONS: JSON.stringify(options) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const [code] = await once(child, 'exit');
      if (code !== 0) throw new Error(`autocannon exited with ${code}`);
      const r = JSON.parse(out) as { ms: number; total: number; errors: number };
      if (r.errors > 0 || r.total === 0) throw new Error(`autocannon saw errors: ${out}`);
      return r;
    }),
  );
  const perModel = runs.reduce((s, r) => s + (r.total / r.ms) * 1000, 0) / runs.length;
  return { perModel, total: perModel * runs.length, wallMs: Math.max(...runs.map((r) => r.ms)) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function print(rows: Row[], o: { n: number; concurrency: number; rounds: number }): void {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `replay benchmark: ${o.n.toLocaleString('en-US')} captured requests, concurrency ${o.concurrency}, median of ${o.rounds} rounds`,
  );
  console.log(`machine: ${availableParallelism()} CPUs (${cpu}), Node ${process.version}`);
  const one = median(rows[0]!.perModel);
  const two = median(rows[1]!.total);
  const header = ['', 'req/s per model', 'HTTP req/s total', 'wall ms', 'vs autocannon ×1', 'total vs autocannon ×2'];
  const table = rows.map((r) => {
    const pm = median(r.perModel);
    const tot = median(r.total);
    const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');
    return [r.label, fmt(pm), fmt(tot), fmt(median(r.wallMs)), ratio(pm / one), ratio(tot / two)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
}

const fmt = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');

await main();
