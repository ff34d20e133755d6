/**
 * Fleet benchmark (issue 11; figures in docs/fleet.md). A generated repo of `--pipelines` pipelines × `--groups`
 * groups (from one warehouse table), served by the smallest Python model server (a socket loop, test/helpers/
 * fleet.ts), with `--live` groups of each pipeline live as v1 in the data dir's store: what a daemon finds when it
 * restarts a deployed fleet. Side by side with a 1-pipeline fleet of the same shape, through a real `mlpd start`
 * (built dist/), it measures:
 *
 *   API answering    spawn of `mlpd start` to the first answer of GET /healthz (and to its ready line, printed
 *                    once the restore is under way), every variant live in the store
 *   all serving      spawn to the moment the daemon reports every model server live (capacity events), then
 *                    checked from outside: one invocation of every variant through the router must answer 200
 *   floor            the same per-group servers started by a bare script, no daemon, as many at once (what
 *                    starting these servers costs on this machine; mlpd's restore as a ratio of it)
 *   RSS              of mlpd, and of all model servers (sum of RSS, and of PSS, which shares the interpreter's
 *                    pages fairly between processes)
 *   status idle      a fresh snapshot over an open connection (`status` request: what `mlp status` waits for,
 *                    without its process start), median of `--status-samples`
 *   status --json    the same for every pipeline's full view (what `mlp status --json` prints)
 *   status burst     the same while `--burst` pipelines are deployed at once (runs of every group, then
 *                    all-at-once rollouts: a candidate server each, promoted, the old server stopped)
 *   burst            first deploy to the last rollout promoted
 *   snapshot         bytes of the snapshot a client gets on connect
 *   SIGTERM          signal to exit, then a check that no model server is left
 *
 *   npm run bench:fleet -- [--pipelines 1000] [--groups 5] [--live 1] [--burst 200] [--status-samples 9] [--keep-dirs]
 *       [--cpu-prof DIR] (writes each mlpd's CPU profile there) [--mode multi-model] [--starting-at-once N]
 *       [--runs-nice N] (runs.nice of the fleet's mlp.yaml) [--starting-nice N] (serving.starting_nice)
 *
 * `--mode multi-model` adds a third column: the same fleet in `serve.mode: multi-model` with every group live (one
 * server per pipeline hosting all its groups' models), beside the per-group fleet with `--live` groups live; its
 * "every variant serving" waits until every variant answered 200 (a server is live before its models are loaded).
 *
 * Default: 100 pipelines (a quick check, about a minute); the docs' figures are `--pipelines 1000`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import type { CapacityView, DaemonEvent } from '../shared/protocol.js';
import { DEFAULT_RUNS_NICE, DEFAULT_STARTING_NICE } from '../shared/config/schema.js';
import { ping } from '../daemon/serving/servers/supervisor.js';
import { connect, type DaemonConnection } from '../tui/client.js';
import { fleetRepo, groupNames, pipelineName, seedLiveVariants } from '../test/helpers/fleet.js';
import { noSessionGroups } from '../test/helpers/processes.js';

const ROOT = join(import.meta.dirname, '..');
const MLPD = join(ROOT, 'dist/bin/mlpd.js');

const { values: args } = parseArgs({
  options: {
    pipelines: { type: 'string', default: '100' },
    groups: { type: 'string', default: '5' },
    live: { type: 'string', default: '1' },
    burst: { type: 'string', default: '200' },
    'status-samples': { type: 'string', default: '9' },
    'keep-dirs': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    mode: { type: 'string', default: 'single-model' },
    'starting-at-once': { type: 'string' },
    'runs-nice': { type: 'string' },
    'starting-nice': { type: 'string' },
  },
});
if (args.mode !== 'single-model' && args.mode !== 'multi-model')
  throw new Error(`--mode must be single-model or multi-model, got '${args.mode}'`);
const GROUPS = Number(args.groups);
const LIVE = Math.min(Number(args.live), GROUPS);
const SAMPLES = Number(args['status-samples']);
/** The daemon's default number of servers starting at once (serving.starting_at_once), which the floor uses too. */
const STARTING_AT_ONCE = args['starting-at-once'] ? Number(args['starting-at-once']) : 4 * availableParallelism();

/** Where `python3` resolves on PATH: the servers' interpreter, whose start cost sets the floor. */
function python3OnPath(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = join(dir, 'python3');
    if (existsSync(file)) return file;
  }
  return 'python3 (not found on PATH)';
}

interface Figures {
  pipelines: number;
  mode: 'single-model' | 'multi-model';
  /** Live variants, and the model servers serving them. */
  variants: number;
  servers: number;
  /** Spawn to the first answer of GET /healthz. */
  apiAnswersMs: number;
  /** Spawn to the ready line (printed once the restore is under way). */
  apiReadyMs: number;
  allServingMs: number;
  /** The same servers started by a bare script, no daemon (per-group mode only; NaN otherwise). */
  floorMs: number;
  /** CPU one server's start takes on this machine (its own, not the daemon's). */
  serverStartCpuMs: number;
  /** CPU seconds mlpd used from its start until every server was back. */
  restoreCpuS: number;
  verifiedMs: number;
  mlpdRssMb: number;
  serversRssMb: number;
  serversPssMb: number;
  statusIdleMs: number;
  statusBurstMs: number;
  /** The same for every pipeline's full view (`mlp status --json`). */
  fullStatusIdleMs: number;
  fullStatusBurstMs: number;
  burstPipelines: number;
  burstMs: number;
  snapshotBytes: number;
  sigtermMs: number;
  leftovers: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};

/** Every process whose parent chain reaches `root`. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

/** CPU seconds a process has used (user + system). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // fields 14 and 15, in clock ticks (100 a second on Linux)
}

/** kB of a field of /proc/<pid>/status or smaps_rollup (0 when the process is gone). */
function kb(pid: number, file: 'status' | 'smaps_rollup', field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** A port nobody listens on now. */
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

/** Polls GET /healthz until it answers: the moment the API does. */
async function answersAt(port: number, t0: number): Promise<number> {
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
}

async function startMlpd(
  repo: string,
  dataDir: string,
): Promise<{ proc: ChildProcess; apiUrl: string; serveUrl: string; answersMs: number; readyMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const profile = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']] : [];
  const proc = spawn(
    process.execPath,
    [...profile, MLPD, 'start', '--repo', repo, '--data-dir', dataDir, '--port', String(port), '--serve-port', '0'],
    {
      cwd: ROOT,
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MLP_'))), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  let stdout = '';
  const answers = answersAt(port, t0);
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const found = /^mlpd ready (ws:\/\/\S+) serving (http:\/\/\S+)$/m.exec(stdout);
      if (found) resolve(found);
    });
    proc.on('exit', (code) => reject(new Error(`mlpd exited with ${code}\n${stderr}`)));
  });
  const readyMs = performance.now() - t0;
  return { proc, apiUrl: m[1]!, serveUrl: m[2]!, answersMs: await answers, readyMs };
}

/** Resolves with the capacity once `done` holds, watching capacity events (and the snapshot). */
function capacityWhen(conn: DaemonConnection, done: (c: CapacityView) => boolean): Promise<CapacityView> {
  return new Promise((resolve) => {
    if (conn.snapshot.capacity && done(conn.snapshot.capacity)) return resolve(conn.snapshot.capacity);
    const off = conn.onEvent((e: DaemonEvent) => {
      if (e.kind === 'capacity' && done(e.capacity)) {
        off();
        resolve(e.capacity);
      }
    });
  });
}

/** Invokes every variant once through the router; `untilServing`: a 503 (its model is still loading) is asked again. */
async function invokeAll(serveUrl: string, variants: { pipeline: string; group: string }[], untilServing = false): Promise<number> {
  let failed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < variants.length) {
        const v = variants[next++]!;
        for (;;) {
          const res = await fetch(`${serveUrl}/endpoints/${v.pipeline}/groups/${v.group}/invocations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"x":1}',
          });
          await res.arrayBuffer();
          if (untilServing && res.status === 503) {
            await sleep(20);
            continue;
          }
          if (res.status !== 200) failed++;
          break;
        }
      }
    }),
  );
  return failed;
}

/**
 * The floor: the same per-group servers started by this script alone, `atOnce` at a time as the daemon starts them,
 * each asked GET /ping as the daemon asks (after 10 ms, then twice as long up to every 100 ms), no daemon at all.
 * What starting these servers costs on this machine, which the daemon's restore is measured against; and the CPU
 * one start takes (the servers' own, measured once they have ended).
 */
async function bareStart(
  repo: string,
  live: { pipeline: string; group: string }[],
  atOnce: number,
): Promise<{ ms: number; cpuMsPerStart: number }> {
  const children: ChildProcess[] = [];
  const cpu0 = childrenCpuSeconds();
  const t0 = performance.now();
  let next = 0;
  let ms: number;
  try {
    await Promise.all(
      Array.from({ length: atOnce }, async () => {
        while (next < live.length) {
          const v = live[next++]!;
          const port = await freePort();
          const child = spawn('python3', ['-S', 'serve.py'], {
            cwd: join(repo, v.pipeline),
            env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), MLP_GROUP: v.group, MLP_PIPELINE: v.pipeline },
            stdio: 'ignore',
          });
          children.push(child);
          for (let every = 10; !(await ping(port)); every = Math.min(every * 2, 100)) {
            if (child.exitCode !== null) throw new Error(`a bare server of ${v.pipeline}/${v.group} exited with ${child.exitCode}`);
            await sleep(every);
          }
        }
      }),
    );
    ms = performance.now() - t0;
  } finally {
    await Promise.all(
      children.map((c) => {
        if (c.exitCode !== null || c.signalCode !== null) return undefined;
        c.kill('SIGKILL');
        return once(c, 'exit');
      }),
    );
  }
  // The servers did nothing but start (and answer a few pings): their CPU is what a start costs.
  return { ms, cpuMsPerStart: ((childrenCpuSeconds() - cpu0) * 1000) / live.length };
}

/** CPU seconds of this process's ended and waited-for children. */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100; // cutime, cstime: fields 16 and 17
}

async function statusMs(conn: DaemonConnection, full = false): Promise<number> {
  const t0 = performance.now();
  await (full ? conn.fullStatus() : conn.status());
  return performance.now() - t0;
}

async function measure(pipelines: number, burst: number, mode: Figures['mode'], liveGroups: number): Promise<Figures> {
  const repo = fleetRepo({
    pipelines,
    groups: GROUPS,
    serveMode: mode,
    pipelineExtra: '    rollout:\n      strategy: all_at_once\n',
    repoExtra:
      (args['starting-at-once'] || args['starting-nice'] ? 'serving:\n' : '') +
      (args['starting-at-once'] ? `  starting_at_once: ${STARTING_AT_ONCE}\n` : '') +
      (args['starting-nice'] ? `  starting_nice: ${Number(args['starting-nice'])}\n` : '') +
      (args['runs-nice'] ? `runs:\n  nice: ${Number(args['runs-nice'])}\n` : ''),
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'mlp-bench-fleet-'));
  const live = Array.from({ length: pipelines }, (_, i) =>
    groupNames(liveGroups).map((group) => ({ pipeline: pipelineName(i), group })),
  ).flat();
  const servers = mode === 'multi-model' ? pipelines : live.length;
  const floor = mode === 'single-model' ? await bareStart(repo, live, STARTING_AT_ONCE) : { ms: NaN, cpuMsPerStart: NaN };
  seedLiveVariants(dataDir, live);
  const t0 = performance.now();
  const d = await startMlpd(repo, dataDir);
  const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
  try {
    const conn = await connect({ url: d.apiUrl, token }, { timeoutMs: 60_000 });
    await capacityWhen(conn, (c) => c.servers.total === servers && c.servers.live === servers);
    // A live multi-model server may still be loading its models: every variant serves once each answered.
    const multi = mode === 'multi-model';
    let allServingMs = performance.now() - t0;
    let restoreCpuS = cpuSeconds(d.proc.pid!);
    const failed = await invokeAll(d.serveUrl, live, multi);
    const verifiedMs = performance.now() - t0;
    if (multi) {
      allServingMs = verifiedMs;
      restoreCpuS = cpuSeconds(d.proc.pid!);
    }
    if (failed) throw new Error(`${failed} of ${live.length} variants did not answer 200 through the router`);

    const pids = descendants(d.proc.pid!);
    const mlpdRssMb = kb(d.proc.pid!, 'status', 'VmRSS') / 1024;
    const serversRssMb = pids.reduce((a, p) => a + kb(p, 'status', 'VmRSS'), 0) / 1024;
    const serversPssMb = pids.reduce((a, p) => a + kb(p, 'smaps_rollup', 'Pss'), 0) / 1024;

    await sleep(2_000); // let the restore's last events settle
    const idle: number[] = [];
    const fullIdle: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      idle.push(await statusMs(conn));
      fullIdle.push(await statusMs(conn, true));
    }
    const snapshotBytes = Buffer.byteLength(JSON.stringify(await conn.status()));

    // The burst: `burst` pipelines deployed at the same moment.
    const deployed = Array.from({ length: Math.min(burst, pipelines) }, (_, i) => pipelineName(i));
    const promoted = new Set<string>();
    const wanted = new Set(deployed);
    let b0 = performance.now();
    // The fleet deltas (summaries) say when a rollout is promoted; full views go only to subscribers.
    const allPromoted = new Promise<void>((resolve, reject) => {
      const off = conn.onEvent((e) => {
        if (e.kind !== 'fleet') return;
        for (const p of e.pipelines) {
          const r = p.rollout;
          if (!wanted.has(p.name) || !r) continue;
          if (r.phase === 'promoted' && r.candidateVersion === 'v2') promoted.add(p.name);
          else if (['blocked', 'failed', 'rolled_back'].includes(r.phase)) {
            off();
            reject(new Error(`${p.name}: rollout ${r.phase}: ${r.reason ?? ''}`));
          }
        }
        if (promoted.size === deployed.length) {
          off();
          resolve();
        }
      });
    });
    b0 = performance.now();
    await Promise.all(deployed.map((pipeline) => conn.command({ command: 'deploy', pipeline })));
    const during: number[] = [];
    const fullDuring: number[] = [];
    let over = false;
    let failure: unknown;
    allPromoted.then(
      () => (over = true),
      (err) => ((failure = err), (over = true)),
    );
    while (!over) {
      during.push(await statusMs(conn));
      await sleep(125);
      fullDuring.push(await statusMs(conn, true));
      await sleep(125);
    }
    if (failure) throw failure;
    const burstMs = performance.now() - b0;
    conn.close();

    const serverPids = descendants(d.proc.pid!);
    const s0 = performance.now();
    d.proc.kill('SIGTERM');
    await once(d.proc, 'exit');
    const sigtermMs = performance.now() - s0;
    await sleep(200);
    // Still running (a zombie has ended: it only waits for init to collect it).
    const left = serverPids.filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
      } catch {
        return false;
      }
    });
    for (const p of left)
      console.log(`left running after mlpd stopped: ${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ')}`);
    const leftovers = left.length;
    return {
      pipelines,
      mode,
      variants: live.length,
      servers,
      apiAnswersMs: d.answersMs,
      apiReadyMs: d.readyMs,
      allServingMs,
      floorMs: floor.ms,
      serverStartCpuMs: floor.cpuMsPerStart,
      restoreCpuS,
      verifiedMs,
      mlpdRssMb,
      serversRssMb,
      serversPssMb,
      statusIdleMs: median(idle),
      statusBurstMs: median(during),
      fullStatusIdleMs: median(fullIdle),
      fullStatusBurstMs: median(fullDuring),
      burstPipelines: deployed.length,
      burstMs,
      snapshotBytes,
      sigtermMs,
      leftovers,
    };
  } finally {
    if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
    if (!args['keep-dirs']) {
      rmSync(repo, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    } else console.log(`kept ${repo} and ${dataDir}`);
  }
}

const columns = [
  await measure(1, 1, 'single-model', LIVE),
  await measure(Number(args.pipelines), Number(args.burst), 'single-model', LIVE),
];
if (args.mode === 'multi-model') columns.push(await measure(Number(args.pipelines), Number(args.burst), 'multi-model', GROUPS));

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (x: number) => `${x.toFixed(0)} MB`;
const rows: [string, (f: Figures) => string, string][] = [
  ['pipelines × groups (live variants)', (f) => `${f.pipelines} × ${GROUPS} (${f.variants})`, ''],
  ['model servers', (f) => `${f.servers} (${f.mode})`, ''],
  ['start to API answering (/healthz), all variants live in the store', (f) => s(f.apiAnswersMs), '≤ 2 s'],
  ['start to the ready line', (f) => s(f.apiReadyMs), ''],
  ['start to every variant serving again', (f) => s(f.allServingMs), '≤ 30 s'],
  ['… and every variant answered once through the router', (f) => s(f.verifiedMs), ''],
  [
    'the same servers started by a bare script (floor)',
    (f) => (Number.isNaN(f.floorMs) ? '-' : `${s(f.floorMs)} (mlpd ${(f.allServingMs / f.floorMs).toFixed(2)}×)`),
    '',
  ],
  [
    "CPU of one server start (the server's own)",
    (f) => (Number.isNaN(f.serverStartCpuMs) ? '-' : `${f.serverStartCpuMs.toFixed(0)} ms`),
    '',
  ],
  ['CPU of mlpd until every variant served', (f) => `${f.restoreCpuS.toFixed(2)} s`, ''],
  ['RSS of mlpd', (f) => mb(f.mlpdRssMb), ''],
  ['RSS of all model servers (sum)', (f) => mb(f.serversRssMb), ''],
  ['PSS of all model servers (sum)', (f) => mb(f.serversPssMb), ''],
  ['status, idle (median)', (f) => `${f.statusIdleMs.toFixed(0)} ms`, ''],
  [
    'status during the burst (median)',
    (f) => `${f.statusBurstMs.toFixed(0)} ms (${(f.statusBurstMs / f.statusIdleMs).toFixed(2)}× idle)`,
    '≤ 1.5× idle',
  ],
  ['status --json (full views), idle (median)', (f) => `${f.fullStatusIdleMs.toFixed(0)} ms`, ''],
  [
    'status --json during the burst (median)',
    (f) => `${f.fullStatusBurstMs.toFixed(0)} ms (${(f.fullStatusBurstMs / f.fullStatusIdleMs).toFixed(2)}× idle)`,
    '',
  ],
  ['burst: deploys at once, to all promoted', (f) => `${f.burstPipelines} in ${s(f.burstMs)}`, ''],
  ['snapshot sent on connect', (f) => `${(f.snapshotBytes / 1024).toFixed(0)} KiB`, ''],
  ['SIGTERM to exit (model servers left)', (f) => `${s(f.sigtermMs)} (${f.leftovers})`, '≤ 5 s'],
];
const width = Math.max(...rows.map((r) => r[0].length));
const cols = columns.map((f) => rows.map((r) => r[1](f)));
const colWidth = Math.max(...cols.flat().map((c) => c.length), 14);
const heads = columns.map((f) =>
  f.pipelines === 1 ? '1 pipeline' : `${f.pipelines} pipelines${f.mode === 'multi-model' ? ', multi-model' : ''}`,
);
console.log(
  `\nfleet benchmark: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 1024 ** 3).toFixed(0)} GB, node ${process.version}, availableParallelism ${availableParallelism()}`,
);
console.log(
  `model servers: python3 is ${python3OnPath()}; ${STARTING_AT_ONCE} start at once (${args['starting-at-once'] ? 'serving.starting_at_once' : "the daemon's default"})`,
);
console.log(
  `CPU priorities: steps at runs.nice ${args['runs-nice'] ?? `${DEFAULT_RUNS_NICE} (default)`}, servers starting at serving.starting_nice ${args['starting-nice'] ?? `${DEFAULT_STARTING_NICE} (default)`}; sessions scheduled as groups: ${noSessionGroups ? 'no' : 'yes'}`,
);
console.log(`${''.padEnd(width)}  ${heads.map((h) => h.padEnd(colWidth)).join('  ')}  target`);
rows.forEach((r, i) => console.log(`${r[0].padEnd(width)}  ${cols.map((c) => c[i]!.padEnd(colWidth)).join('  ')}  ${r[2]}`));
