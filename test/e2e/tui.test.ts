/**
 * The TUI in a real terminal: tmux runs `mlp` against a real daemon (--time-scale 60) and the test
 * reads captured panes the way a person reads the screen. A rollout shifts (phase and traffic bar
 * move), `p` + `y` promotes it, `r` + `y` rolls the next one back, and a daemon killed with -9 and
 * restarted on the same port shows "disconnected, retrying" and then the fleet again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { GATED_IT_PY, GATED_SERVE_PY, GATED_TRAIN_PY } from '../helpers/gated-pipeline.js';
import { pipelineRepo } from '../helpers/pipelines.js';

// Steps every 4 (scaled) minutes = 4 s: long enough to read a step and press a key in it.
const PIPELINE = `pipeline:
  name: shop
  serve:
    timeout_seconds: 5
  deployment:
    integration_tests: python3 it.py
    rollout:
      initial_traffic: 0
      step_percent: 20
      step_interval_minutes: 4
    rollback:
      on_error_rate_above: 0.1
      min_requests: 20
    replay:
      requests: 200
`;

const SESSION = `mlp-tui-${process.pid}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const pane = () => tmux('capture-pane', '-p', '-t', SESSION);
const press = (key: string) => tmux('send-keys', '-t', SESSION, key);

/** The first pane that `matches` accepts; on a timeout the error shows the last pane. */
async function screen<T>(what: string, matches: (p: string) => T | undefined, timeoutMs = 30_000): Promise<T> {
  let last = '';
  try {
    return await eventually(() => matches((last = pane())), timeoutMs, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast pane:\n${last}`, { cause: err });
  }
}

/** The fleet row of `shop`, and the candidate's share in its traffic bar (`current|candidate`). */
function shopRow(p: string): { line: string; candidate: number | null } | undefined {
  const line = p.split('\n').find((l) => /\bshop\b/.test(l));
  if (!line) return undefined;
  const bar = /(\d+)\|(\d+)/.exec(line);
  return { line, candidate: bar ? Number(bar[2]) : null };
}

/** Once promoted, the version is the current one and takes all the traffic. */
function promoted(p: string, version: string) {
  const row = shopRow(p);
  return row && /promoted/.test(row.line) && new RegExp(`\\b${version}\\b`).test(row.line) && /100\|0\b/.test(row.line) ? row : undefined;
}

describe('the TUI in tmux against a real daemon', () => {
  let d: TestDaemon;
  let repo: string;
  let port: number;
  let live: { stop: () => Promise<void> } | undefined;
  const daemonArgs = () => ['--time-scale', '60', '--port', String(port)];

  const invoke = (x: number) =>
    fetch(`${d.serveUrl}/endpoints/shop/invocations`, {
      method: 'POST',
      body: JSON.stringify({ x }),
      headers: { 'content-type': 'application/json' },
    });
  // One loop at a time: a test that failed mid-way leaves its loop here, and a loop that keeps
  // running would keep this file's process alive after the last test.
  const traffic = async (from: number) => {
    await live?.stop();
    let running = true;
    const loop = (async () => {
      for (let x = from; running; x++) {
        const res = await invoke(x).catch(() => null);
        if (res) await res.arrayBuffer();
        else await new Promise((r) => setTimeout(r, 50));
      }
    })();
    return { stop: async () => ((running = false), await loop) };
  };
  const lastDecision = async () => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    const ro = (JSON.parse(r.stdout) as { pipelines: { rollout: { decisions: { rule: string; verdict: string }[] } }[] }).pipelines[0]!
      .rollout;
    const { rule, verdict } = ro.decisions.at(-1)!;
    return { rule, verdict };
  };
  const deploy = async () => {
    const r = await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    repo = pipelineRepo({
      pipelineYaml: PIPELINE,
      extra: { 'forecast/train.py': GATED_TRAIN_PY, 'forecast/serve.py': GATED_SERVE_PY, 'forecast/it.py': GATED_IT_PY },
    });
    writeFileSync(join(repo, 'forecast/behaviour.json'), '{}');
    port = await freePort();
    d = await startTestDaemon({ repo, args: daemonArgs() });
  });
  after(async () => {
    await live?.stop();
    try {
      tmux('kill-session', '-t', SESSION);
    } catch {
      // never started, or already gone
    }
    await d?.stop();
  });

  it('shows the first version promoted in the fleet', async () => {
    await deploy();
    const env = d.clientEnv();
    // CI=true as on a CI runner: the TUI must still draw live frames in a real terminal.
    tmux(
      'new-session',
      '-d',
      '-s',
      SESSION,
      '-x',
      '100',
      '-y',
      '30',
      `env CI=true MLP_URL=${env.MLP_URL} MLP_TOKEN=${env.MLP_TOKEN} NO_COLOR=1 ${process.execPath} ${BIN.mlp}`,
    );
    await screen('v1 promoted', (p) => promoted(p, 'v1'), 60_000);
    // Captured traffic the next rollouts replay.
    for (let x = 1; x <= 60; x++) assert.equal((await invoke(x)).status, 200);
  });

  it('shows a rollout shifting with the traffic bar moving; p then y promotes it', async () => {
    live = await traffic(2000);
    await deploy();
    const first = await screen(
      'shop shifting',
      (p) => {
        const row = shopRow(p);
        return row && /shifting/.test(row.line) && row.candidate !== null && row.candidate > 0 ? row.candidate : undefined;
      },
      60_000,
    );
    await screen(`the candidate's share to grow past ${first}%`, (p) => {
      const row = shopRow(p);
      return row && /shifting/.test(row.line) && row.candidate !== null && row.candidate > first ? row : undefined;
    });
    press('p');
    await screen('the promote question', (p) => (/promote shop\? y\/n/.test(p) ? true : undefined), 5_000);
    press('y');
    await screen('v2 promoted', (p) => promoted(p, 'v2'));
    assert.equal((await lastDecision()).rule, 'manual', 'the key promoted it, not the last step');
    await live.stop();
    live = undefined;
  });

  it('r then y rolls back the next rollout', async () => {
    live = await traffic(3000);
    await deploy();
    await screen(
      'the next rollout shifting',
      (p) => {
        const row = shopRow(p);
        return row && /shifting/.test(row.line) && row.candidate !== null && row.candidate > 0 ? row : undefined;
      },
      60_000,
    );
    press('r');
    await screen('the roll back question', (p) => (/roll back shop\? y\/n/.test(p) ? true : undefined), 5_000);
    press('y');
    await screen('shop rolled back', (p) => {
      const row = shopRow(p);
      return row && /rolled back/.test(row.line) ? row : undefined;
    });
    assert.deepEqual(await lastDecision(), { rule: 'manual', verdict: 'rollback' });
    await live.stop();
    live = undefined;
  });

  it('shows the daemon gone after kill -9 and recovers when it is back on the same port', async () => {
    await d.stop('SIGKILL');
    await screen('the disconnected message', (p) => (/disconnected, retrying/.test(p) ? true : undefined), 15_000);
    d = await startTestDaemon({ repo, dataDir: d.dataDir, args: daemonArgs() });
    await screen(
      'the fleet back',
      (p) => {
        const row = shopRow(p);
        return !/disconnected/.test(p) && row && /rolled back/.test(row.line) ? row : undefined;
      },
      30_000,
    );
  });
});
