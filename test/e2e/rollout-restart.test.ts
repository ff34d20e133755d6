/**
 * A rollout across daemon restarts, against the real daemon: killed (-9) while a gate runs, the gate runs again
 * once the restored model servers answer /ping, and a good candidate is promoted, not blocked; killed (-9, and
 * stopped with SIGTERM) during a step of the shift and started again after longer than the step, the step goes
 * on with its remaining time from the moment the candidate is live again, and its decision says what was watched;
 * a candidate that does not come back blocks the rollout with that reason. A candidate's server killed during a step
 * stops the step's clock the same way until it is live again.
 *
 * The model server takes a while to start (`start_delay`), as real ones do, so that "before the candidate is
 * live" is a window wide enough to see; timing assertions compare stored timestamps with generous margins.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { GATED_TRAIN_PY } from '../helpers/gated-pipeline.js';
import { pipelineRepo } from '../helpers/pipelines.js';

/** Steps of 6 s at --time-scale 10; a replay of 40 requests one at a time. */
const TIME_SCALE = 10;
const STEP_MS = 60_000 / TIME_SCALE;
const PIPELINE = `pipeline:
  name: shop
  serve:
    timeout_seconds: 5
    startup_timeout_seconds: 8
  deployment:
    integration_tests: false
    rollout:
      initial_traffic: 0
      step_percent: 25
      step_interval_minutes: 1
    rollback:
      on_error_rate_above: 0.5
      min_requests: 20
    replay:
      requests: 40
      concurrency: 1
`;

/**
 * Answers {"y": 2x}; waits `start_delay` s before it listens and `delay` s per request, as its behaviour says;
 * never answers while a file `hang-<variant>` is in the pipeline folder; leaves its pid in `pid-<variant>`.
 */
const SERVE_PY = `import json, os, pathlib, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
b = json.loads((pathlib.Path(os.environ["MLP_MODEL_DIR"]) / "model.json").read_text())["behaviour"]
pathlib.Path("pid-" + os.environ["MLP_VARIANT"]).write_text(str(os.getpid()))
if pathlib.Path("hang-" + os.environ["MLP_VARIANT"]).exists():
    print("hanging at start", flush=True)
    time.sleep(3600)
time.sleep(b.get("start_delay", 0))
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.reply(200, {"ok": True})
    def do_POST(self):
        x = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))["x"]
        time.sleep(b.get("delay", 0))
        self.reply(200, {"y": 2 * x})
    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`;

interface Decision {
  at: number;
  phase: string;
  rule: string;
  verdict: string;
  reason: string;
  observed: any;
  sample: any;
}
interface RolloutJson {
  id: number;
  phase: string;
  candidateVersion: string;
  candidateWeight: number;
  decisions: Decision[];
}
interface PipelineJson {
  current: { version: string } | null;
  rollout: RolloutJson | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rollouts across daemon restarts', () => {
  let d: TestDaemon;
  let repo: string;
  let live: { stop: () => Promise<Record<string, number>> } | undefined;

  const status = async (): Promise<PipelineJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
  };
  /** Live traffic in the background; resolves with how many answers each variant gave. */
  const traffic = () => {
    let running = true;
    const byVariant: Record<string, number> = {};
    const loop = (async () => {
      for (let x = 1; running; x++) {
        const res = await fetch(`${d.serveUrl}/endpoints/shop/invocations`, {
          method: 'POST',
          body: JSON.stringify({ x }),
          headers: { 'content-type': 'application/json' },
        }).catch(() => null);
        if (!res) {
          await sleep(50); // the daemon is down
          continue;
        }
        await res.arrayBuffer();
        if (res.status === 200) {
          const v = res.headers.get('x-mlp-variant') ?? '?';
          byVariant[v] = (byVariant[v] ?? 0) + 1;
        }
        await sleep(20);
      }
    })();
    return { stop: async () => ((running = false), await loop, byVariant) };
  };
  const deploy = async (behaviour: object) => {
    writeFileSync(join(repo, 'forecast/behaviour.json'), JSON.stringify(behaviour));
    const before = (await status()).rollout?.id ?? 0;
    const r = await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return before;
  };
  const rolloutWhere = (newerThan: number, what: string, test: (r: RolloutJson) => boolean, timeoutMs = 60_000) =>
    eventually(
      async () => {
        const r = (await status()).rollout;
        return r && r.id > newerThan && test(r) ? r : undefined;
      },
      timeoutMs,
      what,
    );
  const stopDaemon = async (signal: NodeJS.Signals) => {
    await d.stop(signal);
    return d.dataDir;
  };
  const startAgain = async (dataDir: string) => {
    d = await startTestDaemon({ repo, dataDir, args: ['--time-scale', String(TIME_SCALE)] });
  };
  /** The step's words are true: the whole interval watched, and no more of the candidate's requests than it answered. */
  const assertTrueWords = (r: RolloutJson, stepped: Decision, byVariant: Record<string, number>) => {
    assert.equal(stepped.sample.watchedMs, STEP_MS);
    assert.match(
      stepped.reason,
      new RegExp(`^watched 6 s at 25% without a rollback: ${r.candidateVersion} of default served \\d+ requests`),
    );
    assert.ok(
      stepped.sample.requests > 0 && stepped.sample.requests <= (byVariant[r.candidateVersion] ?? 0),
      `${stepped.sample.requests} counted, ${JSON.stringify(byVariant)} answered`,
    );
  };
  const promote = async (before: number) => {
    const promoted = await runCli('mlp', ['promote', 'shop'], { env: d.clientEnv() });
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.equal((await rolloutWhere(before, 'the promotion', ended)).phase, 'promoted');
  };
  const ended = (r: RolloutJson) => ['promoted', 'blocked', 'rolled_back', 'failed'].includes(r.phase);
  const index = (r: RolloutJson, rule: string, verdict: string, phase?: string) =>
    r.decisions.findIndex((x) => x.rule === rule && x.verdict === verdict && (!phase || x.phase === phase));

  before(async () => {
    repo = pipelineRepo({ pipelineYaml: PIPELINE, extra: { 'forecast/train.py': GATED_TRAIN_PY, 'forecast/serve.py': SERVE_PY } });
    d = await startTestDaemon({ repo, args: ['--time-scale', String(TIME_SCALE)] });
    const first = await deploy({});
    const v1 = await rolloutWhere(first, 'the first version to go live', ended);
    assert.equal(v1.phase, 'promoted', JSON.stringify(v1.decisions, null, 1));
    // Captured traffic for the replays that follow.
    live = traffic();
    await sleep(3000);
    await live.stop();
  });
  after(async () => {
    await live?.stop();
    await d?.stop();
  });

  it('runs a gate cut short by kill -9 again once the restored candidate is live, and promotes a good candidate', async () => {
    // v2 is good but slow: its replay takes seconds (the window for the kill), its server seconds to start.
    const before = await deploy({ start_delay: 2, delay: 0.1 });
    const replaying = await rolloutWhere(before, 'the replay to start', (r) => r.phase === 'replaying' || ended(r));
    assert.equal(replaying.phase, 'replaying', JSON.stringify(replaying.decisions, null, 1));
    const dataDir = await stopDaemon('SIGKILL');
    await startAgain(dataDir);

    const r = await rolloutWhere(before, 'the rollout to end', ended, 90_000);
    assert.equal(r.id, replaying.id, 'the same rollout went on');
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    assert.equal((await status()).current?.version, 'v2');
    // The gate ran again after the candidate answered /ping, and passed on what it saw.
    const held = index(r, 'restart', 'hold', 'replaying');
    const back = index(r, 'candidates_live', 'resume', 'replaying');
    const replayed = index(r, 'replay', 'advance');
    assert.ok(held >= 0 && held < back && back < replayed, JSON.stringify(r.decisions.map((x) => `${x.phase}:${x.rule}:${x.verdict}`)));
    assert.ok(r.decisions[replayed]!.at >= r.decisions[back]!.at);
    assert.match(r.decisions[replayed]!.reason, /\d+ requests/);
    assert.ok(!r.decisions.some((x) => /not live/.test(x.reason)), 'no gate judged a server that was not back');
  });

  it('blocks, saying so, when the candidate does not come back within the startup timeout after kill -9 during a gate', async () => {
    const before = await deploy({ delay: 0.1 });
    const replaying = await rolloutWhere(before, 'the replay to start', (r) => r.phase === 'replaying' || ended(r));
    assert.equal(replaying.phase, 'replaying', JSON.stringify(replaying.decisions, null, 1));
    const dataDir = await stopDaemon('SIGKILL');
    writeFileSync(join(repo, `forecast/hang-${replaying.candidateVersion}`), '');
    try {
      await startAgain(dataDir);
      const r = await rolloutWhere(before, 'the rollout to end', ended, 60_000);
      assert.equal(r.phase, 'blocked', JSON.stringify(r.decisions, null, 1));
      const block = r.decisions.at(-1)!;
      assert.equal(block.verdict, 'block');
      assert.equal(block.rule, 'candidates_live');
      assert.match(
        block.reason,
        /^the daemon restarted and a candidate did not come back: v\d+ of shop\/default did not start: the model server did not answer GET \/ping with 200 within 8s \(serve.startup_timeout_seconds\); its last output: hanging at start/,
      );
      assert.ok(!r.decisions.some((x) => x.rule === 'replay'), 'no replay verdict on a server that was not there');
      assert.equal((await status()).current?.version, 'v2', 'the current version serves on');
    } finally {
      rmSync(join(repo, `forecast/hang-${replaying.candidateVersion}`));
    }
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`does not count the time the daemon was down (${signal}) as watched: the step waits its remaining time once the candidate is live`, async () => {
      live = traffic();
      const before = await deploy({ start_delay: 2 });
      const at25 = await rolloutWhere(
        before,
        'the shift to start',
        (r) => (r.phase === 'shifting' && r.candidateWeight === 25) || ended(r),
      );
      assert.equal(at25.candidateWeight, 25, JSON.stringify(at25.decisions, null, 1));
      const stepStarted = at25.decisions.find((x) => x.rule === 'step' && x.observed === 25)!.at;
      await sleep(Math.max(0, stepStarted + 2000 - Date.now())); // about a third of the step is watched
      const killedAt = Date.now();
      const dataDir = await stopDaemon(signal);
      await sleep(STEP_MS + 2000); // down for longer than a whole step
      const restartedAt = Date.now();
      await startAgain(dataDir);

      const r = await rolloutWhere(before, 'the step to 50%', (x) => x.candidateWeight >= 50 || ended(x), 60_000);
      const byVariant = await live.stop();
      assert.equal(r.id, at25.id, 'the same rollout went on');
      const stepped = r.decisions.find((x) => x.rule === 'step' && x.observed === 50);
      assert.ok(stepped, JSON.stringify(r.decisions, null, 1));
      const watchedBefore = killedAt - stepStarted;
      // However the clocks are read, the step came no earlier than the candidate's start (2 s) and the rest of
      // its interval after the restart (a SIGTERM'd daemon watches until it stops: a second of margin) ...
      const left = STEP_MS - watchedBefore;
      assert.ok(
        stepped.at >= restartedAt + 2000 + left - 1000,
        `stepped ${stepped.at - restartedAt} ms after the restart; ${left} ms of the step were left`,
      );
      // ... and, by the stored decisions, its remaining time after the candidate was live again.
      const held = r.decisions.find((x) => x.rule === 'restart' && x.phase === 'shifting');
      const back = r.decisions.find((x) => x.rule === 'candidates_live' && x.verdict === 'resume' && x.phase === 'shifting');
      assert.ok(held && back, JSON.stringify(r.decisions, null, 1));
      assert.ok(
        held.observed.watchedMs <= watchedBefore + 1000,
        `watched ${held.observed.watchedMs} ms before a stop ${watchedBefore} ms into the step`,
      );
      assert.ok(back.at >= held.at + 1500, 'the candidate took its time to start again');
      assert.ok(
        stepped.at - back.at >= STEP_MS - held.observed.watchedMs - 50,
        `${stepped.at - back.at} ms after the candidate was live; ${STEP_MS - held.observed.watchedMs} ms were left`,
      );
      assertTrueWords(r, stepped, byVariant);
      await promote(before);
    });
  }

  it("stops the step's clock while the candidate's server is down mid-step, and goes on once it is live again", async () => {
    live = traffic();
    const before = await deploy({ start_delay: 2 });
    const at25 = await rolloutWhere(before, 'the shift to start', (r) => (r.phase === 'shifting' && r.candidateWeight === 25) || ended(r));
    assert.equal(at25.candidateWeight, 25, JSON.stringify(at25.decisions, null, 1));
    const stepStarted = at25.decisions.find((x) => x.rule === 'step' && x.observed === 25)!.at;
    await sleep(Math.max(0, stepStarted + 1500 - Date.now()));
    process.kill(Number(readFileSync(join(repo, `forecast/pid-${at25.candidateVersion}`), 'utf8')), 'SIGKILL');
    const killedAt = Date.now();

    const r = await rolloutWhere(before, 'the step to 50%', (x) => x.candidateWeight >= 50 || ended(x), 60_000);
    const byVariant = await live.stop();
    const stepped = r.decisions.find((x) => x.rule === 'step' && x.observed === 50);
    const down = r.decisions.find((x) => x.rule === 'candidates_live' && x.verdict === 'hold' && x.phase === 'shifting');
    const back = r.decisions.find((x) => x.rule === 'candidates_live' && x.verdict === 'resume' && x.phase === 'shifting');
    assert.ok(stepped && down && back, JSON.stringify(r.decisions, null, 1));
    assert.match(down.reason, new RegExp(`^${r.candidateVersion} of shop/default is not live \\(starting: the model server exited`));
    assert.ok(
      down.observed.watchedMs <= killedAt - stepStarted,
      `watched ${down.observed.watchedMs} ms of a step whose candidate was killed ${killedAt - stepStarted} ms in`,
    );
    assert.ok(back.at - down.at >= 2000, 'its server took its time to start again');
    assert.ok(
      stepped.at - back.at >= STEP_MS - down.observed.watchedMs - 50,
      `${stepped.at - back.at} ms after the candidate was live; ${STEP_MS - down.observed.watchedMs} ms were left`,
    );
    assert.ok(
      stepped.at - stepStarted >= STEP_MS + 2000,
      `the step came ${stepped.at - stepStarted} ms after it began: the time its candidate was down is not watched time`,
    );
    assertTrueWords(r, stepped, byVariant);
    await promote(before);
  });
});
