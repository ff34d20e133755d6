/**
 * Event-to-screen benchmark (issue 6: "events reach the screen within 100 ms"; figures in
 * docs/tui.md, "TUI performance", "Event to screen").
 *
 * A real `mlpd start` (built dist/, temp repo and data dir, --time-scale) serves the gated test
 * pipeline `shop`; v1 is deployed and promoted, then v2 is deployed and left `shifting` (one step a
 * day, so it stays there for the whole bench) while a load process sends steady traffic, so the
 * daemon also publishes live metrics a few times a second, as in real use. Three clients:
 *
 *   observer   a plain WebSocket client (tui/client.ts), in this process
 *   TUI        the real App + TuiProvider, fed by startLive with the real client's connect, rendered
 *              by Ink's own render() (not debug mode: Ink's 30 fps frame throttle applies) into a fake
 *              terminal (a Writable with isTTY, 100x30). It runs in a process of its own, like `mlp`,
 *              so its rendering and the observer do not share an event loop.
 *   commander  another client in this process that sends the operator command
 *
 * Each round the commander sends `pause` (the next round `resume`) for `shop`:
 *
 *   t0  just before the command is sent
 *   t1  the observer, subscribed to `shop`, receives the `pipeline_updated` showing the new phase (`paused` / `shifting`)
 *   t2  Ink writes a frame whose fleet row of `shop` shows that phase (every write to the fake
 *       terminal is scanned in the TUI process, and stamped there)
 *
 * Times come from process.hrtime (the system's monotonic clock, the same in every process on this
 * machine), so t2 from the TUI process compares with t0 and t1 from this one. Rounds are spaced by a
 * random 200–500 ms, so they do not lock in step with the metrics ticks or the TUI's clock. Prints
 * p50/p95/max of t1−t0, t2−t0 and t2−t1, the share of rounds within 100 ms, and how many rounds
 * the TUI took more than one frame interval (34 ms) over. About a minute.
 *
 * Needs `npm run build` first (the daemon runs from dist/) and python3 (the pipeline's code).
 *
 *   npm run bench:tui-latency -- [--rounds 100] [--rate 20] (load, requests/s) [--time-scale 60]
 *       [--show-frame] (prints the TUI's last frame)
 *       [--fleet 1000] (pipelines in the repo: shop and 999 others of five groups)
 *       [--busy 20] (of the others, deployed during the rounds: runs, model servers, rollouts)
 *
 * The TUI process also reports its event-loop delay (perf_hooks' histogram: a frame's work blocks
 * the loop, so its p95 bounds the frame time) and Ink's own render time per frame.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DaemonEvent, PipelineView } from '../shared/protocol.js';
import { connect, type DaemonConnection } from '../tui/client.js';
import { BIN, runCli } from '../test/helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../test/helpers/daemon.js';
import { GATED_IT_PY, GATED_SERVE_PY, GATED_TRAIN_PY } from '../test/helpers/gated-pipeline.js';
import { pipelineRepo, SERVE_PY, TRAIN_PY } from '../test/helpers/pipelines.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '100' },
    rate: { type: 'string', default: '20' },
    'time-scale': { type: 'string', default: '60' },
    'show-frame': { type: 'boolean', default: false },
    fleet: { type: 'string', default: '1' },
    busy: { type: 'string', default: '0' },
    role: { type: 'string', default: 'main' },
  },
});
/** Pipelines in the repo, `shop` included; the others are `x-fleet-NNNN` of five groups each. */
const FLEET = Number(values.fleet);
/** How many of the other pipelines are deployed during the rounds (runs, then rollouts), so the daemon is busy. */
const BUSY = Number(values.busy);
const FLEET_CITIES = ['amsterdam', 'berlin', 'london', 'madrid', 'paris'];
// Named to sort after `shop`: the fleet lists active rollouts by name, and shop's row must stay on screen.
const fleetName = (k: number) => `x-fleet-${String(k).padStart(4, '0')}`;
const FLEET_PIPELINE = (name: string) => `pipeline:
  name: ${name}
  groups:
    generate: true
    source: warehouse.cities
  steps:
    - name: train
      command: python3 train.py
  deployment:
    rollout:
      initial_traffic: 20
      step_percent: 40
      step_interval_minutes: 1
`;
const ROUNDS = Number(values.rounds);
const RATE = Number(values.rate);
const TIME_SCALE = Number(values['time-scale']);
const PIPELINE_NAME = 'shop';
const COLUMNS = 100;
const ROWS = 30;
const TARGET_MS = 100;
const ROUND_TIMEOUT_MS = 5_000;

// One step a day: at --time-scale 60 the next step is 24 minutes away, so the rollout stays
// `shifting` (at 20%) through the bench; a resume continues the wait with the time it had left.
const PIPELINE = `pipeline:
  name: ${PIPELINE_NAME}
  serve:
    timeout_seconds: 5
  deployment:
    integration_tests: python3 it.py
    rollout:
      initial_traffic: 20
      step_percent: 20
      step_interval_minutes: 1440
    rollback:
      on_error_rate_above: 0.1
      min_requests: 20
    replay:
      requests: 200
`;

/** ms on the system's monotonic clock: comparable across this machine's processes. */
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SELF = fileURLToPath(import.meta.url);

/** Messages from the TUI and load processes. */
type ChildMessage =
  | { type: 'ready' }
  | { type: 'phase'; phase: string; at: number }
  | { type: 'frame'; text: string }
  | {
      type: 'stats';
      frames: number;
      renders: number;
      seconds: number;
      last: string;
      lag: Percentiles;
      render: Percentiles;
      fleetEvents: number;
      pipelines: number;
      cpuMs: number;
      cpuSeconds: number;
      cpuFrames: number;
    }
  | { type: 'load'; ok: number; failed: number; seconds: number }
  | { type: 'error'; message: string };

// ---------------------------------------------------------------------------------------------
// The TUI process: `mlp`'s runTui (tui/run.tsx), with a fake terminal instead of the real one.
// ---------------------------------------------------------------------------------------------

interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** CSI and OSC escape sequences, and the other two-byte escapes Ink and ansi-escapes write. */
const ANSI = /\u001B\[[0-?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)|\u001B[78=>]/g;

/** The phase the fleet row of `shop` shows in one written frame, or undefined when the row is not in it. */
function rowPhase(frame: string): string | undefined {
  const text = frame.replace(ANSI, '');
  const row = text.split('\n').find((l) => new RegExp(`^\\S?\\s*${PIPELINE_NAME}\\s`).test(l));
  if (!row) return undefined;
  // `› shop   shifting  v1→v2 …` (the phase column comes right after the name; "rolled back" is two words).
  const m = new RegExp(`${PIPELINE_NAME}\\s+(rolled back|rolling back|\\S+)`).exec(row);
  return m?.[1];
}

/** A terminal for Ink: a TTY of COLUMNS x ROWS whose every write is scanned (and stamped) on arrival. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = COLUMNS;
  readonly rows = ROWS;
  frames = 0;
  last = '';
  constructor(private readonly onFrame: (frame: string, at: number) => void) {
    super({ decodeStrings: false });
  }
  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void) {
    const at = nowMs();
    const text = String(chunk);
    // Ink writes the synchronized-update markers on their own; a frame is a write with content.
    if (text.replace(ANSI, '').trim() !== '') {
      this.frames++;
      this.last = text;
      this.onFrame(text, at);
    }
    done();
  }
}

/** A keyboard nobody types on (what Ink needs of stdin for useInput: a TTY it can set to raw mode). */
class IdleKeyboard extends EventEmitter {
  readonly isTTY = true;
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
  read() {
    return null;
  }
}

async function tuiProcess() {
  const send = (m: ChildMessage) => process.send?.(m);
  const fail = (err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    setTimeout(() => process.exit(1), 100);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  process.on('disconnect', () => process.exit(1));

  // Imported here, so the main process never loads Ink and React. Ink reads CI once, at import: the
  // parent removed it from this process's environment, as `mlp` does for the interactive TUI.
  const [{ render }, { createElement }, { App }, { TuiProvider }, { createFleetStore }, { startLive }, { clientSettings }] =
    await Promise.all([
      import('ink'),
      import('react'),
      import('../tui/app.js'),
      import('../tui/provider.js'),
      import('../tui/state/store.js'),
      import('../tui/live.js'),
      import('../tui/client.js'),
    ]);

  const settings = clientSettings();
  const started = nowMs();
  let phase: string | undefined;
  let ready = false;
  const terminal = new FakeTerminal((frame, at) => {
    const p = rowPhase(frame);
    if (p === undefined || p === phase) return;
    phase = p;
    send({ type: 'phase', phase: p, at });
    if (!ready && p === 'shifting') {
      ready = true;
      cpuAtStart = process.cpuUsage();
      rendersAtStart = renders;
      readyAt = nowMs();
      send({ type: 'ready' });
    }
  });
  const errors: string[] = [];
  const stderr = new Writable({ write: (chunk, _enc, done) => (errors.push(String(chunk)), done()) });
  let renders = 0;
  const renderMs: number[] = [];
  // CPU time does not stretch when other processes take the cores (wall-clock frame times do); counted from the first frame of shop.
  let cpuAtStart = process.cpuUsage();
  let rendersAtStart = 0;
  let readyAt = 0;
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const store = createFleetStore();
  let fleetEvents = 0;
  const dispatch = store.dispatch;
  store.dispatch = (action) => {
    if (action.type === 'event' && action.event.kind === 'fleet') fleetEvents++;
    dispatch(action);
  };
  const live = startLive({ connect: () => connect(settings, { timeoutMs: 5_000 }), store });
  const app = render(
    createElement(TuiProvider, { store, actions: live, colour: true, onQuit: () => app.unmount(), children: createElement(App) }),
    {
      stdout: terminal as unknown as NodeJS.WriteStream,
      stdin: new IdleKeyboard() as unknown as NodeJS.ReadStream,
      stderr: stderr as unknown as NodeJS.WriteStream,
      exitOnCtrlC: false,
      patchConsole: false,
      // Counts the frames Ink computed (those equal to the last one are not written).
      onRender: ({ renderTime }) => {
        renders++;
        renderMs.push(renderTime);
      },
    },
  );

  process.on('message', (m: { type: string }) => {
    if (m.type === 'dump')
      send({ type: 'frame', text: terminal.last.replace(ANSI, '') + (errors.length ? `\nstderr: ${errors.join('')}` : '') });
    if (m.type === 'stop') {
      live.stop();
      app.unmount();
      // Exits once the message is out (Ink's signal-exit hook and the IPC channel would keep it alive).
      lag.disable();
      const ms = (ns: number) => ns / 1e6;
      const sorted = [...renderMs].sort((a, b) => a - b);
      const stats = {
        type: 'stats',
        frames: terminal.frames,
        renders,
        seconds: (nowMs() - started) / 1000,
        last: terminal.last.replace(ANSI, ''),
        lag: { p50: ms(lag.percentile(50)), p95: ms(lag.percentile(95)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
        render: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
        fleetEvents,
        pipelines: store.getState().pipelines.length,
        cpuMs: (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpuAtStart)),
        cpuSeconds: (nowMs() - readyAt) / 1000,
        cpuFrames: renders - rendersAtStart,
      } satisfies ChildMessage;
      process.send?.(stats, undefined, undefined, () => process.exit(0));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The load process: steady traffic to the router at RATE requests/s, so metrics events flow.
// ---------------------------------------------------------------------------------------------

async function loadProcess() {
  const url = `${process.env.SERVE_URL}/endpoints/${PIPELINE_NAME}/invocations`;
  let running = true;
  let ok = 0;
  let failed = 0;
  const started = nowMs();
  process.on('disconnect', () => process.exit(1));
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stop') running = false;
  });
  const interval = 1000 / RATE;
  for (let k = 0; running; k++) {
    const res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ x: 5_000 + k }),
      headers: { 'content-type': 'application/json' },
    }).catch(() => null);
    if (res) await res.arrayBuffer();
    if (res?.ok) ok++;
    else failed++;
    await sleep(Math.max(0, started + (k + 1) * interval - nowMs()));
  }
  process.send?.({ type: 'load', ok, failed, seconds: (nowMs() - started) / 1000 } satisfies ChildMessage, undefined, undefined, () =>
    process.exit(0),
  );
}

// ---------------------------------------------------------------------------------------------
// The main process: the daemon, the observer and the commander, and the rounds.
// ---------------------------------------------------------------------------------------------

/** A child process running this file in another role, with its messages delivered to listeners. */
function child(role: 'tui' | 'load', env: NodeJS.ProcessEnv) {
  const proc: ChildProcess = spawn(process.execPath, [...process.execArgv, SELF, '--role', role, '--rate', String(RATE)], {
    env,
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const listeners = new Set<(m: ChildMessage) => void>();
  let failure: string | null = null;
  proc.on('message', (m: ChildMessage) => {
    if (m.type === 'error') failure = m.message;
    for (const l of listeners) l(m);
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  /** Resolves with the first message `pick` accepts; rejects on timeout, an error report or an exit. */
  const next = <T>(what: string, pick: (m: ChildMessage) => T | undefined, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const done = (err: Error | null, v?: T) => {
        listeners.delete(listen);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v as T);
      };
      const listen = (m: ChildMessage) => {
        if (m.type === 'error') return done(new Error(`the ${role} process failed: ${m.message}`));
        const v = pick(m);
        if (v !== undefined) done(null, v);
      };
      const timer = setTimeout(() => done(new Error(`the ${role} process did not report ${what} within ${timeoutMs} ms`)), timeoutMs);
      listeners.add(listen);
      // A watcher, not a step: `exited` never rejects, and done() ignores it once a value came.
      void exited.then((code) =>
        done(new Error(`the ${role} process exited (${code}) before it reported ${what}${failure ? `: ${failure}` : ''}\n${stderr}`)),
      );
    });
  return {
    proc,
    next,
    listen(l: (m: ChildMessage) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    send: (m: { type: string }) => proc.connected && proc.send(m),
    stderr: () => stderr,
    exited,
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    },
  };
}
type Child = ReturnType<typeof child>;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Deterministic, so runs compare. */
let seed = 42;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

const shopOf = (pipelines: PipelineView[]) => pipelines.find((p) => p.name === PIPELINE_NAME);

async function mainProcess() {
  if (!(ROUNDS > 0) || !(RATE > 0) || !(TIME_SCALE > 0)) throw new Error('--rounds, --rate and --time-scale must be numbers above 0');
  if (!existsSync(BIN.mlpd)) throw new Error(`${BIN.mlpd} is missing: run \`npm run build\` first`);

  let d: TestDaemon | undefined;
  let repo: string | undefined;
  const clients: DaemonConnection[] = [];
  const children: Child[] = [];
  try {
    repo = pipelineRepo({
      pipelineYaml: PIPELINE,
      cities: FLEET_CITIES,
      extra: { 'forecast/train.py': GATED_TRAIN_PY, 'forecast/serve.py': GATED_SERVE_PY, 'forecast/it.py': GATED_IT_PY },
    });
    writeFileSync(join(repo, 'forecast/behaviour.json'), '{}');
    for (let k = 1; k < FLEET; k++) {
      const dir = join(repo, fleetName(k));
      mkdirSync(dir);
      writeFileSync(join(dir, 'pipeline.yaml'), FLEET_PIPELINE(fleetName(k)));
      writeFileSync(join(dir, 'train.py'), TRAIN_PY);
      writeFileSync(join(dir, 'serve.py'), SERVE_PY);
    }
    d = await startTestDaemon({ repo, args: ['--time-scale', String(TIME_SCALE)] });
    const daemon = d;
    const settings = { url: daemon.apiUrl, token: daemon.operatorToken };
    const observer = await connect(settings);
    const commander = await connect(settings);
    clients.push(observer, commander);
    const snapshotBytes = Buffer.byteLength(JSON.stringify(observer.snapshot));
    if (observer.snapshot.pipelines.length !== FLEET)
      throw new Error(`mlpd has ${observer.snapshot.pipelines.length} pipelines in force, not ${FLEET}`);

    const deploy = async () => {
      const r = await runCli('mlp', ['deploy', PIPELINE_NAME], { env: daemon.clientEnv() });
      if (r.code !== 0) throw new Error(`mlp deploy ${PIPELINE_NAME} failed (${r.code}): ${r.stderr}`);
    };
    const rolloutIs = (what: string, ok: (p: PipelineView) => boolean) =>
      eventually(
        async () => {
          const p = shopOf((await observer.fullStatus()).pipelines);
          return p && ok(p) ? p : undefined;
        },
        120_000,
        what,
      ).catch(async (err: Error) => {
        const p = shopOf((await observer.fullStatus()).pipelines);
        throw new Error(
          `${err.message}; ${PIPELINE_NAME}'s rollout: ${JSON.stringify(p?.rollout ? { phase: p.rollout.phase, reason: p.rollout.reason } : null)}`,
        );
      });

    process.stderr.write('deploying v1 ');
    await deploy();
    await rolloutIs('v1 promoted', (p) => p.rollout?.phase === 'promoted' && p.current?.version === 'v1');
    // Captured traffic for the next rollout's replay gate.
    for (let x = 1; x <= 60; x++) {
      const res = await fetch(`${daemon.serveUrl}/endpoints/${PIPELINE_NAME}/invocations`, {
        method: 'POST',
        body: JSON.stringify({ x }),
        headers: { 'content-type': 'application/json' },
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`request ${x} to ${PIPELINE_NAME} answered ${res.status}`);
    }
    const baseEnv: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith('MLP_') && k !== 'CI' && k !== 'CONTINUOUS_INTEGRATION' && k !== 'NO_COLOR') baseEnv[k] = v;
    const load = child('load', { ...baseEnv, SERVE_URL: daemon.serveUrl });
    children.push(load);

    process.stderr.write('v2 ');
    await deploy();
    await rolloutIs('v2 shifting', (p) => p.rollout?.phase === 'shifting' && p.rollout.candidateVersion === 'v2');

    process.stderr.write('TUI ');
    // Colours on, as in a person's terminal (chalk looks at the real stdout, a pipe here, not the fake terminal).
    const tui = child('tui', { ...baseEnv, MLP_URL: daemon.apiUrl, MLP_TOKEN: daemon.operatorToken, FORCE_COLOR: '1' });
    children.push(tui);
    await tui.next('its first frame of shop shifting', (m) => (m.type === 'ready' ? true : undefined), 30_000);

    // What the observer sees during the rounds (metrics show the traffic's events also reach the clients).
    await observer.subscribe(PIPELINE_NAME);
    const seen = { metrics: 0, updates: 0 };
    let onUpdate: ((p: PipelineView, at: number) => void) | null = null;
    observer.onEvent((event: DaemonEvent) => {
      const at = nowMs();
      if (event.kind === 'metrics') seen.metrics++;
      if (event.kind !== 'pipeline_updated' || event.pipeline.name !== PIPELINE_NAME) return;
      seen.updates++;
      onUpdate?.(event.pipeline, at);
    });
    await sleep(1_000);

    // The busy part: that many pipelines train (two runs at a time), then roll out to five model servers each.
    const deployed = await Promise.all(
      Array.from({ length: Math.min(BUSY, FLEET - 1) }, (_, k) => commander.command({ command: 'deploy', pipeline: fleetName(k + 1) })),
    );
    const statusStarted = nowMs();
    const fullStatus = await observer.fullStatus();
    const statusMs = nowMs() - statusStarted;
    const fullBytes = Buffer.byteLength(JSON.stringify(fullStatus));

    process.stderr.write(`rounds `);
    const daemonMs: number[] = [];
    const screenMs: number[] = [];
    const tuiMs: number[] = [];
    const roundsStarted = nowMs();
    const seenBefore = { ...seen };
    for (let i = 0; i < ROUNDS; i++) {
      const command = i % 2 === 0 ? 'pause' : 'resume';
      const phase = command === 'pause' ? 'paused' : 'shifting';
      let t0 = Infinity;
      const observed = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`round ${i + 1} (${command}): the observer saw no pipeline_updated with ${phase} within ${ROUND_TIMEOUT_MS} ms`),
            ),
          ROUND_TIMEOUT_MS,
        );
        onUpdate = (p, at) => {
          if (p.rollout?.phase !== phase) return;
          clearTimeout(timer);
          onUpdate = null;
          resolve(at);
        };
      });
      const shown = tui
        .next(
          `a frame with ${PIPELINE_NAME} ${phase} in round ${i + 1} (${command})`,
          (m) => (m.type === 'phase' && m.phase === phase && m.at >= t0 ? m.at : undefined),
          ROUND_TIMEOUT_MS,
        )
        .catch(async (err: Error) => {
          tui.send({ type: 'dump' });
          const last = await tui
            .next('its last frame', (m) => (m.type === 'frame' ? m.text : undefined), 2_000)
            .catch(() => '(not available)');
          throw new Error(`${err.message}\nthe TUI's last frame:\n${last}`);
        });
      t0 = nowMs();
      const reply = commander.command({ command, pipeline: PIPELINE_NAME });
      const [t1, t2] = await Promise.all([observed, shown, reply]);
      daemonMs.push(t1 - t0);
      screenMs.push(t2 - t0);
      tuiMs.push(t2 - t1);
      if ((i + 1) % 10 === 0) process.stderr.write(`${i + 1} `);
      await sleep(200 + random() * 300);
    }
    const roundsSeconds = (nowMs() - roundsStarted) / 1000;
    process.stderr.write('\n');

    tui.send({ type: 'stop' });
    const stats = await tui.next('its frame count', (m) => (m.type === 'stats' ? m : undefined), 10_000);
    load.send({ type: 'stop' });
    const traffic = await load.next('its request count', (m) => (m.type === 'load' ? m : undefined), 10_000);

    const row = (what: string, ms: number[]) => {
      const s = [...ms].sort((a, b) => a - b);
      return `| ${what} | ${s.length} | ${percentile(s, 50).toFixed(1)} | ${percentile(s, 95).toFixed(1)} | ${s.at(-1)!.toFixed(1)} |`;
    };
    const within = (ms: number[]) => {
      const n = ms.filter((m) => m <= TARGET_MS).length;
      return `${n}/${ms.length} (${((100 * n) / ms.length).toFixed(0)}%)`;
    };
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const metricsRate = (seen.metrics - seenBefore.metrics) / roundsSeconds;
    console.log(
      `Event to screen: ${ROUNDS} rounds of pause/resume against a real mlpd (--time-scale ${TIME_SCALE}), the TUI at ${COLUMNS}x${ROWS} through Ink's render (30 fps throttle); ` +
        `${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPUs (${cpu}), Node ${process.version}`,
    );
    console.log(
      `traffic ${(traffic.ok / traffic.seconds).toFixed(1)} req/s (${traffic.failed} failed); the observer got ${metricsRate.toFixed(1)} metrics events/s during the rounds; ` +
        `the TUI computed ${stats.renders} frames and wrote ${stats.frames} (the others equal to the last) in ${stats.seconds.toFixed(0)} s (${(stats.frames / stats.seconds).toFixed(1)} written/s)`,
    );
    console.log('| what | rounds | p50 ms | p95 ms | max ms |');
    console.log('|---|---:|---:|---:|---:|');
    console.log(row('t1−t0 command → observer (daemon → any client)', daemonMs));
    console.log(row('t2−t0 command → screen', screenMs));
    console.log(row('t2−t1 what the TUI adds', tuiMs));
    console.log(`within ${TARGET_MS} ms: t2−t1 ${within(tuiMs)}, t2−t0 ${within(screenMs)}`);
    // Ink throttles frames to 30 fps: a change within 34 ms of its last frame waits for the next one.
    const throttleMs = Math.ceil(1000 / 30);
    const waited = tuiMs.filter((m) => m > throttleMs).length;
    console.log(`rounds where the TUI added more than one frame interval (${throttleMs} ms): ${waited}/${tuiMs.length}`);
    const pct = (p: Percentiles) => `p50 ${p.p50.toFixed(1)}, p95 ${p.p95.toFixed(1)}, p99 ${p.p99.toFixed(1)}, max ${p.max.toFixed(1)} ms`;
    console.log(
      `fleet: ${FLEET} pipelines (${stats.pipelines} in the TUI), ${deployed.length} deployed during the rounds; snapshot on connect ${(snapshotBytes / 1024).toFixed(0)} KB; ` +
        `status --json (full views) ${(fullBytes / 1024).toFixed(0)} KB in ${statusMs.toFixed(0)} ms; the TUI applied ${stats.fleetEvents} fleet events`,
    );
    console.log(`TUI event-loop delay: ${pct(stats.lag)}; Ink render per frame: ${pct(stats.render)}`);
    console.log(
      `TUI CPU time from its first frame of shop on: ${(stats.cpuMs / stats.cpuSeconds).toFixed(0)} ms per second, ${(stats.cpuMs / stats.cpuFrames).toFixed(1)} ms per computed frame ` +
        `(everything the process did over the frames Ink computed); load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
    if (values['show-frame']) console.log(`the TUI's last frame:\n${stats.last}`);
  } finally {
    for (const c of clients) c.close();
    for (const c of children) c.kill();
    await Promise.all(children.map((c) => c.exited));
    const code = await d?.stop('SIGTERM');
    if (d && code !== 0) process.stderr.write(`note: mlpd exited with ${code} on SIGTERM\n`);
    if (repo) rmSync(repo, { recursive: true, force: true });
    if (d) rmSync(d.dataDir, { recursive: true, force: true });
  }
}

const roles = { main: mainProcess, tui: tuiProcess, load: loadProcess } as const;
const role = values.role as keyof typeof roles;
if (!(role in roles)) {
  console.error(`bench:tui-latency: unknown --role ${values.role}`);
  process.exit(1);
}
try {
  await roles[role]();
  if (role === 'main') process.exit(0);
} catch (err) {
  console.error(`\nbench:tui-latency failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
