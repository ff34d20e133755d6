/**
 * Gated rollouts against the real daemon, with --time-scale so they take seconds: a first version
 * goes live; a good version passes the gates and the shift to promoted; a version that fails on
 * captured traffic is blocked in replay; one that fails only under live traffic is rolled back
 * while shifting; a daemon killed with -9 mid-shift finishes the same rollout after a restart.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { GATED_IT_PY, GATED_SERVE_PY, GATED_TRAIN_PY } from '../helpers/gated-pipeline.js';
import { pipelineRepo } from '../helpers/pipelines.js';

const PIPELINE = `pipeline:
  name: shop
  serve:
    timeout_seconds: 5
  deployment:
    integration_tests: python3 it.py
    rollout:
      initial_traffic: 0
      step_percent: 25
      step_interval_minutes: 2
    rollback:
      on_error_rate_above: 0.1
      min_requests: 20
    replay:
      requests: 200
`;

interface RolloutJson {
  id: number;
  phase: string;
  candidateVersion: string;
  currentVersion: string | null;
  candidateWeight: number;
  gates: Record<string, { passed: boolean; skipped: boolean; summary: string; report: any }>;
  decisions: { phase: string; rule: string; verdict: string; reason: string; observed: unknown; threshold: unknown; sample: any }[];
}
interface PipelineJson {
  current: { version: string } | null;
  rollout: RolloutJson | null;
  runs: { status: string }[];
}

describe('gated rollouts', () => {
  let d: TestDaemon;
  let repo: string;
  let live: { stop: () => Promise<number[]> } | undefined;

  const status = async (): Promise<PipelineJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
  };
  const invoke = (x: number) =>
    fetch(`${d.serveUrl}/endpoints/shop/invocations`, {
      method: 'POST',
      body: JSON.stringify({ x }),
      headers: { 'content-type': 'application/json' },
    });
  /** Live traffic in the background: x from `from` upwards; resolves with the statuses seen. */
  const traffic = (from: number) => {
    let running = true;
    const seen: number[] = [];
    const loop = (async () => {
      for (let x = from; running; x++) {
        const res = await invoke(x).catch(() => null);
        if (res) {
          seen.push(res.status);
          await res.arrayBuffer();
        }
      }
    })();
    return { stop: async () => ((running = false), await loop, seen) };
  };
  /** Deploys with this behaviour and waits until the new rollout ends. */
  const deploy = async (behaviour: object, expected: string, opts: { during?: (r: RolloutJson) => Promise<void> } = {}) => {
    writeFileSync(join(repo, 'forecast/behaviour.json'), JSON.stringify(behaviour));
    const before = (await status()).rollout?.id ?? 0;
    const r = await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    let hooked = false;
    return eventually(
      async () => {
        const ro = (await status()).rollout;
        if (!ro || ro.id === before) return undefined;
        if (!hooked && opts.during && ro.phase === 'shifting' && ro.candidateWeight > 0) {
          hooked = true;
          await opts.during(ro);
        }
        return ['promoted', 'blocked', 'rolled_back', 'failed'].includes(ro.phase) ? ro : undefined;
      },
      60_000,
      `the rollout to end ${expected}`,
    );
  };

  before(async () => {
    repo = pipelineRepo({
      pipelineYaml: PIPELINE,
      extra: { 'forecast/train.py': GATED_TRAIN_PY, 'forecast/serve.py': GATED_SERVE_PY, 'forecast/it.py': GATED_IT_PY },
    });
    d = await startTestDaemon({ repo, args: ['--time-scale', '60'] });
  });
  after(async () => {
    await live?.stop();
    await d?.stop();
  });

  it('puts a first version live at 100%, skipping replay and the shift with a decision saying why', async () => {
    const r = await deploy({}, 'promoted');
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions));
    assert.equal(r.candidateWeight, 100);
    assert.ok(r.decisions.some((x) => x.rule === 'first_version' && /replay and the gradual shift are skipped/.test(x.reason)));
    assert.equal(r.gates.integration_tests?.passed, true);
    assert.deepEqual((await status()).current?.version, 'v1');
    // Live traffic the next rollouts replay.
    for (let x = 1; x <= 60; x++) assert.equal((await invoke(x)).status, 200);
  });

  it('takes a good version through every gate and the gradual shift to promoted', async () => {
    live = traffic(2000);
    const r = await deploy({}, 'promoted');
    await live.stop();
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    assert.equal(r.candidateVersion, 'v2');
    assert.equal(r.candidateWeight, 100);
    const steps = r.decisions.map((x) => `${x.rule}:${x.verdict}`);
    assert.deepEqual(steps.slice(0, 4), ['candidates_live:advance', 'data_checks:skip', 'integration_tests:advance', 'replay:advance']);
    assert.deepEqual(
      r.decisions.filter((x) => x.rule === 'step').map((x) => x.observed),
      [25, 50, 75, 100],
    );
    assert.equal(r.decisions.at(-1)!.verdict, 'promote');
    assert.match(r.gates.replay!.summary, /\d+ requests/);
    assert.equal((await status()).current?.version, 'v2');
  });

  it('blocks a version that errors on captured traffic in replay, listing the requests; live traffic never reaches it', async () => {
    live = traffic(3000);
    const r = await deploy({ fail_mod: 7 }, 'blocked');
    const statuses = await live.stop();
    assert.equal(r.phase, 'blocked', JSON.stringify(r.decisions, null, 1));
    const block = r.decisions.at(-1)!;
    assert.equal(block.phase, 'replaying');
    assert.equal(block.verdict, 'block');
    const report = Object.values(r.gates.replay!.report as Record<string, any>)[0];
    assert.ok(report.regressions.count >= 8, `regressions: ${report.regressions.count}`);
    const sample = report.regressions.samples[0];
    assert.equal(sample.candidate.status, 500);
    assert.equal(sample.current.status, 200);
    assert.ok(
      statuses.every((s) => s === 200),
      'live traffic only saw the current model',
    );
    assert.equal((await status()).current?.version, 'v2');
  });

  it('rolls back a version that fails under live traffic while shifting, naming the error rate, threshold and sample', async () => {
    // Captured traffic so far has x below 100,000: this version passes replay, then meets live
    // traffic above it once the shift has begun. The shift is paused at the weight it has (the watch
    // goes on while paused), so the verdict waits for min_requests however slowly a loaded machine
    // sends them, instead of racing the steps to 100%.
    const r = await deploy({ fail_above: 100_000 }, 'rolled_back', {
      during: async () => {
        const paused = await runCli('mlp', ['pause', 'shop'], { env: d.clientEnv() });
        assert.equal(paused.code, 0, `the shift could be paused: ${paused.stderr}`);
        live = traffic(100_000);
      },
    });
    await live?.stop();
    assert.equal(r.phase, 'rolled_back', JSON.stringify(r.decisions, null, 1));
    assert.equal(r.candidateWeight, 0);
    const rollback = r.decisions.find((x) => x.verdict === 'rollback')!;
    assert.equal(rollback.rule, 'error_rate');
    assert.ok((rollback.observed as number) > 0.1);
    assert.equal(rollback.threshold, 0.1);
    assert.ok(rollback.sample.requests >= 20);
    assert.equal((await status()).current?.version, 'v2');
    const after = await invoke(100_000);
    assert.equal(after.status, 200);
    assert.equal(after.headers.get('x-mlp-variant'), 'v2');
  });

  it('continues the same rollout to the end after the daemon is killed with -9 during the shift', async () => {
    live = traffic(7_000);
    let killedIn: RolloutJson | undefined;
    const r = await deploy({}, 'promoted', {
      during: async (ro) => {
        killedIn = ro;
        await live!.stop();
        await d.stop('SIGKILL');
        d = await startTestDaemon({ repo, dataDir: d.dataDir, args: ['--time-scale', '60'] });
        live = traffic(8_000);
      },
    });
    await live.stop();
    assert.ok(killedIn, 'the daemon was killed while shifting');
    assert.equal(r.id, killedIn.id, 'the same rollout went on');
    assert.equal(r.phase, 'promoted');
    assert.equal(r.candidateWeight, 100);
    assert.equal((await status()).current?.version, r.candidateVersion);
  });
});
