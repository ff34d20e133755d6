/**
 * Rollback reaction benchmark (issue 5, "Performance"; figures in docs/rollouts.md, "Rollback reaction").
 *
 * A real `mlpd start` (built dist/, temp repo and data dir, --time-scale) serving a tiny Node model. v1 goes
 * live; live traffic runs at a steady, bounded rate from a load process of its own (a few keep-alive loops
 * to the router on 127.0.0.1). Then, round by round, a new version is deployed whose model answers 500 on
 * every request once a flag file exists (checked per request); with the flag absent it passes the
 * integration tests and replay and starts shifting at `initial_traffic`. After a warm-up at that weight
 * the flag is created at T0, and the script records:
 *
 *   client side (load process)  each response's completion time, status and X-Mlp-Variant
 *   Tmin    completion of the min_requests-th failing response from the candidate after T0
 *   Tcross  the first candidate response after which the candidate's requests of the last 60 s (the
 *           daemon's metrics window) are ≥ min_requests with an error rate above the threshold: the
 *           earliest moment the rule can fire (reconstructed from the client's records)
 *   Tw0     the first `pipeline_updated` event (WebSocket API, tui/client.ts) of the rollout in
 *           rolling_back/rolled_back or with candidateWeight 0. The daemon sets the router's weight to 0
 *           in the same tick as it publishes rolling_back (whose candidateWeight reads 0); the event
 *           right after it ("routes") shows the candidate gone from the variants.
 *   Tcw0    the first event of the rollout in rolled_back: after the retire effect's 2 s drain and
 *           the server's stop
 *   last    the last response the candidate answered
 *
 * and the decision record the daemon wrote (rule, observed, threshold, sample). Reaction = Tw0 − Tmin
 * (target ≤ 1 s). When the flag goes on matters, because the watch reads the candidate's last 60 s:
 *
 *   warm-up 0 s    the flag goes on as the shift begins: the candidate fails from its first live requests
 *   warm-up 5 s    it served 5 s of healthy traffic first, which dilutes the error rate a little
 *   warm-up 60 s   it served a full metrics window of healthy traffic first ("steady"; one round by
 *                  default, it takes a minute): a candidate that breaks later in its step
 *
 * `--rounds` rounds of each of `--warmups` (interleaved), then `--steady-rounds` of `--steady-warmup`.
 * Compared with a rollback taking five minutes at the same rate and traffic share. About 2 minutes.
 *
 *   npm run bench:reaction -- [--rounds 3] [--warmups 0,5] [--steady-rounds 1] [--steady-warmup 60]
 *       [--rate 1000] [--loops 16] [--min-requests 50] [--error-rate 0.05] [--initial-traffic 25] [--time-scale 60]
 *       [--trace] (prints the rollout's events of each round) [--keep-dirs] (keeps the temp repo and data dir)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DecisionView, PipelineView, RolloutView } from '../shared/protocol.js';
import { connect, type DaemonConnection } from '../tui/client.js';
import { BIN, cleanEnv, mlpdReady, ROOT, runCli } from './mlpd.js';

const PIPELINE = 'reaction';
/** The daemon's live-metrics time window (daemon/serving/metrics/live-metrics.ts), which the error-rate watch reads. */
const METRICS_WINDOW_MS = 60_000;
const METRICS_BUCKET_MS = 1_000;
/** Where the daemon's window starts at time t: whole 1 s buckets, the current one included. */
const windowStart = (t: number) => (Math.floor(t / METRICS_BUCKET_MS) - METRICS_WINDOW_MS / METRICS_BUCKET_MS + 1) * METRICS_BUCKET_MS;
const FIVE_MINUTES_S = 300;

/**
 * Wall-clock ms: the load process, this one and the daemon (decision records) are different processes,
 * and Date.now() is the one clock they share (performance.timeOrigin differs per process by ms).
 */
const now = () => Date.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Training copies behaviour.json (which flag file makes the model fail, if any) into the model. */
const TRAIN_MJS = `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const behaviour = existsSync('behaviour.json') ? JSON.parse(readFileSync('behaviour.json', 'utf8')) : {};
writeFileSync(join(process.env.MLP_MODEL_DIR, 'model.json'), JSON.stringify({ behaviour }));
console.log('trained with', JSON.stringify(behaviour));
`;

/** Answers {"y": 2x}; with a fail_flag in its behaviour, answers 500 on every request while that file exists. */
const SERVE_MJS = `import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const { behaviour } = JSON.parse(readFileSync(join(process.env.MLP_MODEL_DIR, 'model.json'), 'utf8'));
const flag = behaviour.fail_flag ?? null;
const variant = process.env.MLP_VARIANT;
const reply = (res, status, payload) => {
  const data = Buffer.from(JSON.stringify(payload));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': data.length });
  res.end(data);
};
const server = http.createServer((req, res) => {
  if (req.method !== 'POST') return reply(res, 200, { status: 'ok' });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (flag && existsSync(flag)) return reply(res, 500, { error: 'model failing: the flag file exists' });
    let x = 0;
    try { x = JSON.parse(Buffer.concat(chunks).toString()).x; } catch { return reply(res, 400, { error: 'not JSON' }); }
    reply(res, 200, { y: 2 * x, v: variant });
  });
});
server.keepAliveTimeout = 120000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('serving', variant, 'on', process.env.PORT));
`;

/** The integration tests: the candidate (MLP_ENDPOINT_URL) must double x. */
const IT_MJS = `const res = await fetch(process.env.MLP_ENDPOINT_URL + '/invocations', { method: 'POST', body: '{"x": 21}', headers: { 'content-type': 'application/json' } });
const answer = await res.json();
if (answer.y !== 42) { console.error('wrong answer', JSON.stringify(answer)); process.exit(1); }
console.log('integration ok against', answer.v);
`;

/**
 * The load: LOOPS keep-alive loops, each sending one request at a time on its own schedule so that
 * together they send RATE requests per second (never more: a loop that falls behind by more than
 * 250 ms drops the missed slots instead of bursting). Every response is recorded (completion time,
 * status, X-Mlp-Variant) and handed to the parent on 'collect'.
 */
const LOAD_MJS = `import http from 'node:http';
const { host, port, path, rate, loops } = JSON.parse(process.env.LOAD);
const agent = new http.Agent({ keepAlive: true, maxSockets: loops });
const now = () => Date.now();
let t = [], status = [], variant = [];
let running = true, x = 1;
const send = () => new Promise((resolve) => {
  const body = '{"x":' + (x++) + '}';
  const req = http.request({ host, port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
    res.on('data', () => {});
    res.on('end', () => { t.push(now()); status.push(res.statusCode); variant.push(res.headers['x-mlp-variant'] ?? ''); resolve(); });
  });
  req.on('error', () => { t.push(now()); status.push(0); variant.push(''); resolve(); });
  req.end(body);
});
const interval = (1000 * loops) / rate;
const loop = async (i) => {
  let next = now() + (i * 1000) / rate;
  while (running) {
    const wait = next - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -250) next = now();
    await send();
    next += interval;
  }
};
const done = Promise.all(Array.from({ length: loops }, (_, i) => loop(i)));
process.on('message', async (m) => {
  if (m === 'stop') { running = false; await done; }
  process.send({ t, status, variant });
  t = []; status = []; variant = [];
  if (m === 'stop') process.disconnect();
});
`;

interface Options {
  rounds: number;
  warmupsS: number[];
  steadyRounds: number;
  steadyWarmupS: number;
  rate: number;
  loops: number;
  minRequests: number;
  errorRate: number;
  initialTraffic: number;
  timeScale: number;
  stepIntervalS: number;
}

interface Responses {
  t: number[];
  status: number[];
  variant: string[];
}

/** One `pipeline_updated` event of the pipeline, as received. */
interface Seen {
  at: number;
  rollout: RolloutView | null;
  variants: PipelineView['variants'];
}

interface RoundResult {
  candidate: string;
  replay: string;
  warmupS: number;
  /** Requests per second the clients got answered in the 5 s before T0 (traffic runs all along). */
  rate: number;
  /** The candidate's share of the answers from the shift's start to Tw0, and its configured weight. */
  share: number;
  weight: number;
  /** Healthy candidate requests in the metrics window at T0. */
  okInWindow: number;
  tMin: number;
  tCross: number;
  tW0: number;
  tDecision: number;
  /** The first event whose variants no longer route to the candidate. */
  tRoutes: number;
  tCw0: number;
  tLast: number;
  /** rollout.candidateWeight in the Tw0 event. */
  weightShownAtW0: number;
  /** Candidate responses with status >= 500 after T0 (what clients saw fail). */
  failures: number;
  /** Failures the current model or the router answered after T0 (expected 0). */
  otherErrors: number;
  decision: DecisionView;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      warmups: { type: 'string', default: '0,5' },
      'steady-rounds': { type: 'string', default: '1' },
      'steady-warmup': { type: 'string', default: String(METRICS_WINDOW_MS / 1000) },
      rate: { type: 'string', default: '1000' },
      loops: { type: 'string', default: '16' },
      'min-requests': { type: 'string', default: '50' },
      'error-rate': { type: 'string', default: '0.05' },
      'initial-traffic': { type: 'string', default: '25' },
      'time-scale': { type: 'string', default: '60' },
      'keep-dirs': { type: 'boolean', default: false },
      trace: { type: 'boolean', default: false },
    },
  });
  const o: Options = {
    rounds: Number(values.rounds),
    warmupsS: values.warmups
      .split(',')
      .filter((x) => x.trim() !== '')
      .map(Number),
    steadyRounds: Number(values['steady-rounds']),
    steadyWarmupS: Number(values['steady-warmup']),
    rate: Number(values.rate),
    loops: Number(values.loops),
    minRequests: Number(values['min-requests']),
    errorRate: Number(values['error-rate']),
    initialTraffic: Number(values['initial-traffic']),
    timeScale: Number(values['time-scale']),
    stepIntervalS: 0,
  };
  for (const [k, v] of Object.entries(o)) {
    for (const x of [v].flat()) if (!Number.isFinite(x) || x < 0) throw new Error(`${k}: '${x}' is not a number ≥ 0`);
  }
  if (o.loops < 1) throw new Error('--loops must be at least 1');
  if (o.rate <= 0 || o.rate > 5000) throw new Error('--rate must be above 0 and at most 5000 requests per second');
  if (!existsSync(BIN.mlpd)) throw new Error(`${BIN.mlpd} is missing: run npm run build first`);
  // The candidate must stay at its first step through the longest measurement.
  o.stepIntervalS = Math.max(120, Math.ceil(Math.max(...o.warmupsS, o.steadyWarmupS) * 2 + 30));
  const stepIntervalMinutes = (o.stepIntervalS * o.timeScale) / 60;

  const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-reaction-'));
  const repo = join(dir, 'repo');
  const dataDir = join(dir, 'data');
  const flags = join(dir, 'flags');
  mkdirSync(join(repo, PIPELINE), { recursive: true });
  mkdirSync(flags);
  /** A YAML string holding a shell command that runs `script` with this Node. */
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
    timeout_seconds: 5
  deployment:
    integration_tests: ${node('it.mjs')}
    rollout:
      initial_traffic: ${o.initialTraffic}
      step_percent: 25
      step_interval_minutes: ${stepIntervalMinutes}
    rollback:
      on_error_rate_above: ${o.errorRate}
      min_requests: ${o.minRequests}
    replay:
      requests: 200
`,
  );
  writeFileSync(join(repo, PIPELINE, 'train.mjs'), TRAIN_MJS);
  writeFileSync(join(repo, PIPELINE, 'serve.mjs'), SERVE_MJS);
  writeFileSync(join(repo, PIPELINE, 'it.mjs'), IT_MJS);
  const behaviour = (b: object) => writeFileSync(join(repo, PIPELINE, 'behaviour.json'), JSON.stringify(b));

  const started = now();
  let daemon: ChildProcess | undefined;
  let load: ChildProcess | undefined;
  let conn: DaemonConnection | undefined;
  let daemonLog = '';
  let cleaning: Promise<void> | undefined;
  /** Stops the load and mlpd (which stops its model servers on SIGTERM) and removes the temp dirs; once. */
  const cleanup = () =>
    (cleaning ??= (async () => {
      conn?.close();
      if (load && load.exitCode === null && load.signalCode === null) load.kill('SIGTERM');
      if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
        const exited = once(daemon, 'exit');
        daemon.kill('SIGTERM');
        const timer = setTimeout(() => daemon!.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (values['keep-dirs']) console.log(`kept ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`${signal}: stopping mlpd and the load ...\n`);
      // Fire and forget: the process ends in finally, whether the cleanup worked or not.
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    // --- the daemon -------------------------------------------------------------------------------------
    daemon = spawn(
      process.execPath,
      [BIN.mlpd, 'start', '--repo', repo, '--data-dir', dataDir, '--port', '0', '--serve-port', '0', '--time-scale', String(o.timeScale)],
      { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    daemon.stderr!.on('data', (d: Buffer) => (daemonLog = (daemonLog + d.toString()).slice(-20_000)));
    const [apiUrl, serveUrl] = await mlpdReady(daemon, () => daemonLog, 20_000);
    const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
    const env = { MLP_URL: apiUrl, MLP_TOKEN: token };

    // --- the API: every pipeline_updated of the pipeline (subscribed), stamped on arrival ---------------------------
    conn = await connect({ url: apiUrl, token });
    const seen: Seen[] = [];
    const waiters = new Set<() => void>();
    conn.onEvent((ev) => {
      if (ev.kind !== 'pipeline_updated' || ev.pipeline.name !== PIPELINE) return;
      seen.push({ at: now(), rollout: ev.pipeline.rollout, variants: ev.pipeline.variants });
      for (const w of waiters) w();
    });
    const initial = await conn.subscribe(PIPELINE);
    /** Resolves with the first event (from index `from` on) that `pred` accepts. */
    const waitFor = (from: number, pred: (s: Seen) => boolean, timeoutMs: number, what: string) =>
      new Promise<Seen>((resolve, reject) => {
        let i = from;
        const check = () => {
          for (; i < seen.length; i++) {
            if (pred(seen[i]!)) {
              waiters.delete(check);
              clearTimeout(timer);
              return resolve(seen[i]!);
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const r = seen.at(-1)?.rollout;
          reject(
            new Error(
              `timed out after ${timeoutMs / 1000} s waiting for ${what}; last rollout: ${r ? `${r.phase}, ${JSON.stringify(r.decisions.at(-1))}` : 'none'}\nmlpd stderr (tail):\n${daemonLog.slice(-3000)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    const terminal = (r: RolloutView | null) => !!r && ['promoted', 'blocked', 'rolled_back', 'failed'].includes(r.phase);

    /** Runs `mlp deploy`; resolves with a filter for the events of the rollout it starts (a newer id). */
    const deploy = async (): Promise<(s: Seen) => boolean> => {
      const last = [initial.rollout, ...seen.map((s) => s.rollout)].reduce((m, r) => Math.max(m, r?.id ?? 0), 0);
      const r = await runCli(['deploy', PIPELINE], env);
      if (r.code !== 0) {
        const snap = await conn!.fullStatus();
        const problems = [...snap.repo.problems, ...snap.pipelines.flatMap((p) => p.problems)].map(
          (p) => `${p.file}:${p.line}: ${p.message}`,
        );
        throw new Error(
          `mlp deploy exited with ${r.code}: ${r.stderr.trim()}${problems.length ? `\nrepo problems:\n${problems.join('\n')}` : ''}`,
        );
      }
      return (s) => !!s.rollout && s.rollout.id > last;
    };

    console.log(`rollback reaction benchmark: mlpd --time-scale ${o.timeScale}, pipeline ${PIPELINE}`);
    console.log(
      `  rollback: on_error_rate_above ${o.errorRate}, min_requests ${o.minRequests}; rollout: initial_traffic ${o.initialTraffic}%, ` +
        `step_interval_minutes ${stepIntervalMinutes} (= ${o.stepIntervalS} s at this time scale, so the candidate stays at ${o.initialTraffic}%)`,
    );
    console.log(`  live traffic: ${o.rate} req/s from ${o.loops} keep-alive loops to ${serveUrl} (one load process)`);
    console.log(
      `  rounds: ${o.rounds} × warm-up ${o.warmupsS.map((w) => `${w} s`).join(', ')} (flag on that long after the shift began)` +
        `${o.steadyRounds ? `, then ${o.steadyRounds} × ${o.steadyWarmupS} s (steady: the ${METRICS_WINDOW_MS / 1000} s metrics window full of healthy requests)` : ''}`,
    );

    // --- v1: the first version goes live ----------------------------------------------------------------
    behaviour({});
    let from = seen.length;
    let mine = await deploy();
    const first = await waitFor(from, (s) => mine(s) && terminal(s.rollout), 60_000, 'v1 to go live');
    if (first.rollout!.phase !== 'promoted') throw new Error(`v1 ended ${first.rollout!.phase}: ${first.rollout!.reason}`);
    process.stderr.write(`v1 live (${((now() - started) / 1000).toFixed(1)} s)\n`);

    // --- live traffic, from now to the end (replay draws on what it captures) --------------------------
    const serve = new URL(serveUrl);
    load = spawn(process.execPath, ['--input-type=module', '-e', LOAD_MJS], {
      env: {
        ...process.env,
        LOAD: JSON.stringify({
          host: '127.0.0.1',
          port: Number(serve.port),
          path: `/endpoints/${PIPELINE}/invocations`,
          rate: o.rate,
          loops: o.loops,
        }),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const responses: Responses = { t: [], status: [], variant: [] };
    const collect = async (msg: 'collect' | 'stop') => {
      load!.send(msg);
      const [batch] = (await once(load!, 'message')) as [Responses];
      for (let i = 0; i < batch.t.length; i++) {
        responses.t.push(batch.t[i]!);
        responses.status.push(batch.status[i]!);
        responses.variant.push(batch.variant[i]!);
      }
    };
    await sleep(1500);

    // --- the rounds -------------------------------------------------------------------------------------
    const plan: number[] = [];
    for (let i = 0; i < o.rounds; i++) plan.push(...o.warmupsS);
    for (let i = 0; i < o.steadyRounds; i++) plan.push(o.steadyWarmupS);
    const results: RoundResult[] = [];
    for (const [k, warmupS] of plan.entries()) {
      const flag = join(flags, `round-${k + 1}`);
      behaviour({ fail_flag: flag });
      from = seen.length;
      mine = await deploy();
      const shifting = await waitFor(
        from,
        (s) => mine(s) && (terminal(s.rollout) || (s.rollout!.phase === 'shifting' && s.rollout!.candidateWeight > 0)),
        90_000,
        `round ${k + 1}'s candidate to start shifting`,
      );
      const ro = shifting.rollout!;
      if (ro.phase !== 'shifting') throw new Error(`round ${k + 1}: the candidate ended ${ro.phase} before shifting: ${ro.reason}`);
      const candidate = ro.candidateVersion;
      const tShift = shifting.at;
      process.stderr.write(
        `round ${k + 1}/${plan.length}: ${candidate} shifting at ${ro.candidateWeight}%, flag on ${warmupS ? `in ${warmupS} s` : 'now'} ...\n`,
      );
      if (warmupS) await sleep(warmupS * 1000);

      const idx = seen.length;
      const t0 = now();
      writeFileSync(flag, 'fail\n');
      const isRollout = (s: Seen) => s.rollout?.id === ro.id;
      const w0 = await waitFor(
        idx,
        (s) => isRollout(s) && (['rolling_back', 'rolled_back'].includes(s.rollout!.phase) || s.rollout!.candidateWeight === 0),
        30_000,
        `round ${k + 1}'s rollback`,
      );
      const routes = await waitFor(
        idx,
        (s) => isRollout(s) && !s.variants.some((v) => v.variant === candidate && v.weight > 0),
        30_000,
        `round ${k + 1}'s candidate to leave the routes`,
      );
      const cw0 = await waitFor(
        idx,
        (s) => isRollout(s) && ['rolled_back', 'promoted', 'blocked', 'failed'].includes(s.rollout!.phase),
        30_000,
        `round ${k + 1}'s rollout to end`,
      );
      if (cw0.rollout!.phase !== 'rolled_back')
        throw new Error(`round ${k + 1}: the rollout ended ${cw0.rollout!.phase}: ${cw0.rollout!.reason}`);
      await sleep(300); // stragglers
      await collect('collect');

      if (values.trace) {
        for (const s of seen.slice(idx).filter(isRollout)) {
          const vs = s.variants.map((v) => `${v.variant}:${v.role}:${v.weight}:${v.state}`).join(' ');
          process.stderr.write(
            `  event +${ms(s.at - t0)} ${s.rollout!.phase} candidateWeight ${s.rollout!.candidateWeight} variants ${vs}\n`,
          );
        }
      }
      const decision = cw0.rollout!.decisions.find((d) => d.verdict === 'rollback');
      if (!decision) throw new Error(`round ${k + 1}: no rollback decision: ${JSON.stringify(cw0.rollout!.decisions)}`);
      results.push(
        analyse(
          {
            candidate,
            warmupS,
            weight: ro.candidateWeight,
            tShift,
            t0,
            tW0: w0.at,
            tRoutes: routes.at,
            tCw0: cw0.at,
            weightShownAtW0: w0.rollout!.candidateWeight,
            decision,
            replay: ro.gates.replay?.summary ?? 'no replay',
          },
          responses,
          o,
        ),
      );
      const r = results.at(-1)!;
      process.stderr.write(
        `  T0 +${ms(r.tMin)} min_requests-th failure, +${ms(r.tW0)} weight 0 (${reaction(r)}), ${r.failures} failed requests; ` +
          `decision ${decision.rule} ${fmtNum(decision.observed)} > ${fmtNum(decision.threshold)} on ${JSON.stringify(decision.sample)}\n`,
      );
      // Keep only what the next round needs: the last metrics window.
      trim(responses, now() - METRICS_WINDOW_MS - 5_000);
    }
    await collect('stop');
    print(results, (now() - started) / 1000);
  } finally {
    await cleanup();
  }
}

function analyse(
  r: {
    candidate: string;
    warmupS: number;
    tShift: number;
    t0: number;
    tW0: number;
    tRoutes: number;
    tCw0: number;
    weightShownAtW0: number;
    weight: number;
    decision: DecisionView;
    replay: string;
  },
  res: Responses,
  o: Options,
): RoundResult {
  // Completion order (the load process records in that order already; sort to be sure).
  const order = res.t.map((_, i) => i).sort((a, b) => res.t[a]! - res.t[b]!);
  let recent = 0;
  let during = 0;
  let duringCandidate = 0;
  let okInWindow = 0;
  let failures = 0;
  let otherErrors = 0;
  let tMin = NaN;
  let tLast = NaN;
  for (const i of order) {
    const t = res.t[i]!;
    const isCandidate = res.variant[i] === r.candidate;
    const failed = res.status[i]! >= 500 || res.status[i] === 0;
    if (t >= r.t0 - 5_000 && t < r.t0) recent++;
    if (t >= r.tShift && t <= r.tW0) {
      during++;
      if (isCandidate) duringCandidate++;
    }
    if (isCandidate && !failed && t < r.t0 && t >= windowStart(r.t0)) okInWindow++;
    if (t < r.t0) continue;
    if (isCandidate) {
      tLast = t;
      if (failed && ++failures === o.minRequests) tMin = t;
    } else if (failed) otherErrors++;
  }
  // Tcross: slide the daemon's window (1 s buckets, so 59-60 s long) over the candidate's answers.
  const cand = order.filter((i) => res.variant[i] === r.candidate);
  let lo = 0;
  let errors = 0;
  let tCross = NaN;
  for (let hi = 0; hi < cand.length; hi++) {
    const t = res.t[cand[hi]!]!;
    if (res.status[cand[hi]!]! >= 500) errors++;
    while (res.t[cand[lo]!]! < windowStart(t)) {
      if (res.status[cand[lo]!]! >= 500) errors--;
      lo++;
    }
    const n = hi - lo + 1;
    if (t >= r.t0 && n >= o.minRequests && errors / n > o.errorRate) {
      tCross = t;
      break;
    }
  }
  return {
    candidate: r.candidate,
    replay: r.replay,
    warmupS: r.warmupS,
    rate: recent / 5,
    share: during ? duringCandidate / during : 0,
    weight: r.weight,
    okInWindow,
    tMin: tMin - r.t0,
    tCross: tCross - r.t0,
    tW0: r.tW0 - r.t0,
    tDecision: r.decision.at - r.t0,
    tRoutes: r.tRoutes - r.t0,
    tCw0: r.tCw0 - r.t0,
    weightShownAtW0: r.weightShownAtW0,
    tLast: tLast - r.t0,
    failures,
    otherErrors,
    decision: r.decision,
  };
}

/** Tw0 − Tmin, or how early the rollback came when fewer than min_requests failures ever arrived. */
function reaction(r: RoundResult): string {
  return Number.isFinite(r.tMin) ? `${ms(r.tW0 - r.tMin)} ms after Tmin` : `before Tmin: only ${r.failures} failures ever arrived`;
}

function print(results: RoundResult[], wallS: number): void {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const cpu = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown CPU';
  console.log(
    `\nmachine: ${availableParallelism()} CPUs (${cpu}), Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}; whole run ${wallS.toFixed(0)} s`,
  );
  console.log('times in ms after T0 (the flag file created: the candidate fails every request from then on)');
  const header = [
    'round',
    'warm-up',
    'req/s',
    'share',
    'ok in window',
    'Tmin',
    'Tcross',
    'decision',
    'Tw0',
    'routes',
    'last cand.',
    'Tcw0',
    'Tw0−Tmin',
    'Tw0−Tcross',
    'failed',
    'decision record (rule observed > threshold, sample)',
  ];
  const rows = results.map((r, i) => [
    `${i + 1} ${r.candidate}`,
    `${r.warmupS} s`,
    fmt(r.rate),
    `${(r.share * 100).toFixed(1)}%`,
    fmt(r.okInWindow),
    ms(r.tMin),
    ms(r.tCross),
    ms(r.tDecision),
    ms(r.tW0),
    ms(r.tRoutes),
    ms(r.tLast),
    ms(r.tCw0),
    Number.isFinite(r.tMin) ? ms(r.tW0 - r.tMin) : '< 0',
    ms(r.tW0 - r.tCross),
    `${r.failures}${r.otherErrors ? ` (+${r.otherErrors} other)` : ''}`,
    `${r.decision.rule} ${fmtNum(r.decision.observed)} > ${fmtNum(r.decision.threshold)}, ${JSON.stringify(r.decision.sample)}`,
  ]);
  table(header, rows);
  console.log(" req/s: answered in the 5 s before T0; share: the candidate's share of the answers from the shift's start to Tw0");
  console.log(" ok in window: the candidate's healthy answers in the 60 s before T0");
  console.log(' Tmin: the min_requests-th failing candidate answer ("< 0": rolled back before that many failures arrived)');
  console.log(
    ' Tcross: the first candidate answer after which its last 60 s hold ≥ min_requests requests over the threshold (reconstructed)',
  );
  console.log(` decision: the rollback decision record's time (daemon clock); Tw0: the first pipeline_updated event in rolling_back`);
  console.log(` routes: the first event without the candidate in its variants; last cand.: the last answer from the candidate`);
  console.log(
    ` Tcw0: the first event with the rollout rolled_back (drained and stopped); the Tw0 events showed candidateWeight ${[...new Set(results.map((r) => r.weightShownAtW0))].join('/')}`,
  );

  for (const warmupS of [...new Set(results.map((r) => r.warmupS))]) {
    const rs = results.filter((r) => r.warmupS === warmupS);
    const before = rs.filter((r) => !Number.isFinite(r.tMin)).length;
    console.log(`\nwarm-up ${warmupS} s, ${rs.length} round${rs.length === 1 ? '' : 's'}: min / median / max, ms after T0 unless said`);
    const stat = (label: string, xs: number[], unit: (x: number) => string) =>
      xs.length ? [label, unit(Math.min(...xs)), unit(median(xs)), unit(Math.max(...xs))] : [label, '–', '–', '–'];
    const msStat = (label: string, f: (r: RoundResult) => number) => stat(label, rs.map(f).filter(Number.isFinite), ms);
    table(
      ['', 'min', 'median', 'max'],
      [
        msStat(
          `reaction Tw0 − Tmin (target ≤ 1,000)${before ? ` [${before} of ${rs.length} rolled back before Tmin]` : ''}`,
          (r) => r.tW0 - r.tMin,
        ),
        msStat('Tmin (min_requests-th failure)', (r) => r.tMin),
        msStat('Tcross (the rule can fire)', (r) => r.tCross),
        msStat('Tw0 (event: rolling back, weight 0)', (r) => r.tW0),
        msStat('daemon + event: Tw0 − Tcross', (r) => r.tW0 - r.tCross),
        msStat('last candidate answer', (r) => r.tLast),
        msStat('rollout.candidateWeight 0', (r) => r.tCw0),
        stat(
          'failed requests seen',
          rs.map((r) => r.failures),
          fmt,
        ),
      ],
    );
    const tW0 = median(rs.map((r) => r.tW0)) / 1000;
    const rate = median(rs.map((r) => r.rate));
    const share = median(rs.map((r) => r.weight)) / 100;
    const y = rate * FIVE_MINUTES_S * share;
    const missed = rs.filter((r) => r.tW0 - r.tMin > 1000).length;
    console.log(
      `vs a 5-minute rollback: ${fmt(FIVE_MINUTES_S / tW0)}× faster, and ${fmt(median(rs.map((r) => r.failures)))} failed requests instead of ~${fmt(y)} at this rate ` +
        `(${fmt(rate)} req/s × ${FIVE_MINUTES_S} s × the candidate's ${fmt(share * 100)}%)`,
    );
    console.log(
      `target (weight 0 ≤ 1 s after the min_requests-th failure): ${missed ? `MISSED in ${missed} of ${rs.length} rounds` : 'met in every round'}`,
    );
  }
  console.log(`\nreplay gate, each round (flag absent): ${results[0]?.replay}`);
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

/** Drops responses older than `before` (the arrays stay in completion order). */
function trim(res: Responses, before: number): void {
  let n = 0;
  while (n < res.t.length && res.t[n]! < before) n++;
  res.t.splice(0, n);
  res.status.splice(0, n);
  res.variant.splice(0, n);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const ms = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
/** A fraction as a percentage, with enough digits that 5.002% > 5% does not print as 5% > 5%. */
const fmtNum = (x: unknown) => (typeof x === 'number' ? `${+(x * 100).toFixed(x > 0.01 && x < 0.99 ? 3 : 2)}%` : String(x));

await main();
