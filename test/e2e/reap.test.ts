/**
 * A daemon killed with -9 leaves its children running (the kernel hands them to init). The next
 * daemon on the same data dir stops them before it starts anything: a training step, a python
 * replay check, and a model server still draining after a promotion; the interrupted run says what
 * became of its step. One daemon per data dir: a second one is refused and touches nothing. A
 * daemon stopped with SIGTERM stops all of its children itself.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { childrenDir } from '../../daemon/children/ledger.js';
import { readProcStat } from '../../daemon/children/proc.js';
import { reapLeftovers } from '../../daemon/children/reaper.js';

const PIPELINE = `pipeline:
  name: keeper
  steps:
    - name: train
      command: python3 train.py
  deployment:
    rollout:
      initial_traffic: 0
      step_percent: 100
      step_interval_minutes: 1
    replay:
      checks:
        - python: checks.py:slow
`;

/** Writes a model; with a file `slow-train` beside it, writes "pid pgid" and trains (sleeps) for minutes. */
const TRAIN_PY = `import os, pathlib, time
(pathlib.Path(os.environ["MLP_MODEL_DIR"]) / "model.json").write_text("{}")
if pathlib.Path("slow-train").exists():
    pathlib.Path("train.pid").write_text("%d %d" % (os.getpid(), os.getpgid(0)))
    time.sleep(300)
`;

/** Writes "pid port" to serve-<variant>.pid. With a file `linger` beside it, keeps serving for a minute after SIGTERM (a long drain). */
const SERVE_PY = `import json, os, pathlib, signal, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
variant, port = os.environ["MLP_VARIANT"], int(os.environ["PORT"])
if pathlib.Path("linger").exists():
    signal.signal(signal.SIGTERM, lambda *a: threading.Timer(60, os._exit, [0]).start())
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.reply({"ok": True})
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.reply({"v": variant})
    def reply(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
server = ThreadingHTTPServer(("127.0.0.1", port), H)
pathlib.Path("serve-%s.pid" % variant).write_text("%d %d" % (os.getpid(), port))
server.serve_forever()
`;

/** With a file `slow-check` beside it, writes its pid and takes minutes. */
const CHECKS_PY = `import os, pathlib, time
def slow(records):
    if pathlib.Path("slow-check").exists():
        pathlib.Path("check.pid").write_text(str(os.getpid()))
        time.sleep(300)
    return True
`;

interface RunJson {
  id: string;
  status: string;
  reason: string | null;
  steps: { step: string; status: string; reason: string | null }[];
}
interface PipelineJson {
  current: { version: string } | null;
  rollout: { id: number; phase: string } | null;
  runs: RunJson[];
}

/** Running, not a zombie: a process that ended after its parent did waits a moment for init to collect it. */
const isAlive = (pid: number) => {
  const state = readProcStat(pid)?.state;
  return state !== undefined && state !== 'Z';
};

const daemons: TestDaemon[] = [];
const start = async (repo: string, dataDir?: string) => {
  const d = await startTestDaemon({ repo, ...(dataDir ? { dataDir } : {}), args: ['--time-scale', '60'] });
  daemons.push(d);
  return d;
};
const freshRepo = () =>
  pipelineRepo({
    pipelineYaml: PIPELINE,
    extra: { 'forecast/train.py': TRAIN_PY, 'forecast/serve.py': SERVE_PY, 'forecast/checks.py': CHECKS_PY },
  });
const status = async (d: TestDaemon): Promise<PipelineJson> => {
  const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
};
const deploy = async (d: TestDaemon) => {
  const r = await runCli('mlp', ['deploy', 'keeper'], { env: d.clientEnv() });
  assert.equal(r.code, 0, r.stderr);
};
/** Deploys and waits for the new rollout to end. */
const rollOut = async (d: TestDaemon, phase: string) => {
  const before = (await status(d)).rollout?.id ?? 0;
  await deploy(d);
  return eventually(
    async () => {
      const ro = (await status(d)).rollout;
      return ro && ro.id !== before && ro.phase === phase ? ro : undefined;
    },
    60_000,
    `the rollout to be ${phase}`,
  );
};
const pidIn = (repo: string, file: string) => () => {
  try {
    return Number.parseInt(readFileSync(join(repo, 'forecast', file), 'utf8'), 10) || undefined;
  } catch {
    return undefined;
  }
};
const serverOf = (repo: string, variant: string) => {
  const [pid, port] = readFileSync(join(repo, 'forecast', `serve-${variant}.pid`), 'utf8')
    .split(' ')
    .map(Number);
  return { pid: pid!, port: port! };
};
const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

after(async () => {
  for (const d of daemons) await d.stop();
  // A test that failed between a kill -9 and the restart leaves children: stop them as a daemon would.
  for (const dataDir of new Set(daemons.map((d) => d.dataDir)))
    await reapLeftovers({ dir: childrenDir(dataDir), graceMs: 1_000, warn: () => undefined });
});

describe('children of a killed daemon', { timeout: 240_000 }, () => {
  it('stops a training step left running, and the run says so', async () => {
    const repo = freshRepo();
    writeFileSync(join(repo, 'forecast/slow-train'), '');
    const first = await start(repo);
    await deploy(first);
    const train = await eventually(pidIn(repo, 'train.pid'), 30_000, 'the training step to start');
    const group = Number(readFileSync(join(repo, 'forecast/train.pid'), 'utf8').split(' ')[1]); // the step's shell leads it
    await first.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(isAlive(train), 'the step outlived the daemon (the kernel handed it to init)');

    const second = await start(repo, first.dataDir);
    await eventually(() => (isAlive(train) ? undefined : true), 15_000, `the step (pid ${train}) to be stopped`);
    const run = (await status(second)).runs[0]!;
    assert.equal(run.status, 'failed');
    assert.match(
      run.reason ?? '',
      new RegExp(`mlpd stopped while step 'train' \\(group default, pid ${group}\\) was running; it was stopped when mlpd restarted`),
    );
    assert.equal(run.steps[0]!.status, 'failed');
    assert.match(run.steps[0]!.reason ?? '', new RegExp(`running \\(pid ${group}\\); it was stopped when mlpd restarted`));
    assert.match(second.stderr(), new RegExp(`stopped step 'train' of keeper/default \\(pid ${group}\\)`));
    assert.equal(await second.stop(), 0, second.stderr());
  });

  it('stops a python replay check left running', async () => {
    const repo = freshRepo();
    const first = await start(repo);
    await rollOut(first, 'promoted'); // v1: nothing to replay against yet
    for (let x = 0; x < 20; x++) {
      const res = await fetch(`${first.serveUrl}/endpoints/keeper/invocations`, { method: 'POST', body: JSON.stringify({ x }) });
      assert.equal(res.status, 200);
    }
    await new Promise((r) => setTimeout(r, 500)); // the capture reaches the disk
    writeFileSync(join(repo, 'forecast/slow-check'), '');
    await deploy(first);
    const check = await eventually(pidIn(repo, 'check.pid'), 60_000, 'the python replay check to start');
    await first.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(isAlive(check), 'the check outlived the daemon');

    rmSync(join(repo, 'forecast/slow-check'));
    const second = await start(repo, first.dataDir);
    await eventually(() => (isAlive(check) ? undefined : true), 15_000, `the replay check (pid ${check}) to be stopped`);
    assert.equal(await second.stop(), 0, second.stderr());
  });

  it('stops a model server still draining after a promotion; one daemon per data dir; SIGTERM stops every child, draining ones too', async () => {
    const repo = freshRepo();
    writeFileSync(join(repo, 'forecast/linger'), '');
    const first = await start(repo);
    await rollOut(first, 'promoted');
    const v1 = serverOf(repo, 'v1');
    // v2 takes over; v1 drains (2 s), then lingers a minute after SIGTERM until mlpd's SIGKILL 5 s later: kill mlpd in between.
    await deploy(first);
    // v2 current means v1 is retired in the store: a restarted daemon no longer has it among the live servers.
    await eventually(async () => ((await status(first)).current?.version === 'v2' ? true : undefined), 60_000, 'v2 to be current');
    await first.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(isAlive(v1.pid), 'the draining server outlived the daemon');

    const second = await start(repo, first.dataDir);
    await eventually(() => (isAlive(v1.pid) ? undefined : true), 15_000, `the old server (pid ${v1.pid}) to be stopped`);
    assert.ok(await portFree(v1.port), `port ${v1.port} is free again`);
    const served = await eventually(
      async () => {
        const res = await fetch(`${second.serveUrl}/endpoints/keeper/invocations`, { method: 'POST', body: '{}' });
        return res.status === 200 ? ((await res.json()) as { v: string }) : undefined;
      },
      30_000,
      'v2 to serve again',
    );
    assert.equal(served.v, 'v2');
    const v2 = serverOf(repo, 'v2');

    // A second daemon on the same data dir is refused and stops nothing.
    await assert.rejects(start(repo, first.dataDir), (err: Error) => {
      assert.match(err.message, new RegExp(`exited with 1[\\s\\S]*data dir .* is in use by another mlpd \\(pid ${second.proc.pid}\\)`));
      return true;
    });
    assert.ok(isAlive(v2.pid), 'the running daemon keeps its server');

    // SIGTERM: the daemon stops its children itself, even those that linger: the new version's
    // server, the old one still draining after the promotion, and a training step.
    const promotions = () => second.stderr().match(/shifting: promote:/g)?.length ?? 0;
    const promoted = promotions();
    await deploy(second);
    await eventually(() => (promotions() > promoted ? true : undefined), 60_000, 'v3 to be promoted');
    const v3 = serverOf(repo, 'v3');
    writeFileSync(join(repo, 'forecast/slow-train'), '');
    rmSync(join(repo, 'forecast/train.pid'), { force: true });
    await deploy(second);
    const train = await eventually(pidIn(repo, 'train.pid'), 30_000, 'the training step to start');
    assert.ok(isAlive(v2.pid), 'v2 is still draining');
    assert.equal(await second.stop('SIGTERM'), 0);
    assert.ok(!isAlive(train), 'the step was stopped');
    assert.ok(!isAlive(v3.pid), 'the server was stopped');
    assert.ok(!isAlive(v2.pid), 'the draining server was stopped');
  });

  it('stops cleanly on a SIGTERM sent the instant it is ready', async () => {
    // Before, the signal could beat the handler and kill the daemon outright, children left behind.
    for (let i = 0; i < 3; i++) {
      const d = await start(freshRepo());
      assert.equal(await d.stop('SIGTERM'), 0, d.stderr());
    }
  });
});
