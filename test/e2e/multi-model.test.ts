/**
 * `serve.mode: multi-model` through a real mlpd (--time-scale, so rollouts take seconds): one Python server hosts
 * every group's models. A first deploy puts three groups live in it; a second version goes through replay and the
 * shift in the same server; one group's rollout is rolled back while the other groups' traffic goes on untouched;
 * the server killed with SIGKILL comes back with every model it hosted. On the docker backend, one container loads
 * every group's model from the pipeline's artifacts mounted at /opt/ml/model.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pipelineArtifactsDir } from '../../daemon/runs/artifacts.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { MULTI_MODEL_IT_PY, MULTI_MODEL_SERVE_PY, MULTI_MODEL_TRAIN_PY } from '../helpers/multi-model.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { TEST_IMAGE } from '../helpers/services.js';
import { isAlive, pidsWithEnv } from '../helpers/processes.js';

const GROUPS = ['berlin', 'london', 'paris'];
const PIPELINE = `pipeline:
  name: shop
  groups:
    generate: true
    source: warehouse.cities
  serve:
    mode: multi-model
    timeout_seconds: 5
  deployment:
    integration_tests: python3 it.py
    rollout:
      initial_traffic: 0
      step_percent: 25
      step_interval_minutes: 2
    replay:
      requests: 200
`;

interface RolloutJson {
  id: number;
  phase: string;
  candidateVersion: string;
  candidateWeight: number;
  gates: Record<string, { passed: boolean; skipped: boolean; summary: string }>;
  decisions: { rule: string; verdict: string; reason: string }[];
}
interface StatusJson {
  capacity: { servers: { total: number; live: number } } | null;
  pipelines: {
    name: string;
    rollout: RolloutJson | null;
    variants: { group: string; variant: string; role: string; state: string; weight: number; restarts: number; backend: string }[];
  }[];
}

describe('multi-model serving', () => {
  let d: TestDaemon;
  let repo: string;

  const status = async (): Promise<StatusJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as StatusJson;
  };
  const shop = async () => (await status()).pipelines.find((p) => p.name === 'shop')!;
  const invoke = (group: string, x: number) =>
    fetch(`${d.serveUrl}/endpoints/shop/groups/${group}/invocations`, {
      method: 'POST',
      body: JSON.stringify({ x }),
      headers: { 'content-type': 'application/json' },
    });
  /** The pipeline's multi-model server processes, and the port of the one there should be. */
  const servers = () =>
    pidsWithEnv({ MLP_SERVE_MODE: 'multi-model', MLP_MODEL_DIR: pipelineArtifactsDir(d.dataDir, 'shop') }).filter(isAlive);
  const serverPort = () => {
    const pids = servers();
    assert.equal(pids.length, 1, `one multi-model server: ${pids.join(', ')}`);
    return Number(/(?:^|\0)PORT=(\d+)/.exec(readFileSync(`/proc/${pids[0]}/environ`, 'utf8'))![1]);
  };
  /** What the server has loaded, asked directly (GET /models of the contract). */
  const loaded = async () => {
    const res = await fetch(`http://127.0.0.1:${serverPort()}/models`);
    return ((await res.json()) as { models: { modelName: string }[] }).models.map((m) => m.modelName).sort();
  };
  /** Live traffic in the background to these groups; resolves with what each answer was (status and model). */
  const traffic = (groups: string[], from: number) => {
    let running = true;
    const seen: string[] = [];
    const loop = (async () => {
      for (let x = from; running; x++) {
        for (const group of groups) {
          const res = await invoke(group, x).catch(() => null);
          if (res)
            seen.push(
              res.status === 200
                ? `${group}:${((await res.json()) as { model: string }).model}`
                : `${group}:${res.status}:${await res.text()}`,
            );
        }
      }
    })();
    return { stop: async () => ((running = false), await loop, seen) };
  };
  /** Starts a deploy and waits until its rollout ends. */
  const deploy = async (args: string[], opts: { during?: (r: RolloutJson) => Promise<void> } = {}) => {
    const before = (await shop()).rollout?.id ?? 0;
    const r = await runCli('mlp', ['deploy', 'shop', ...args], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    let hooked = false;
    return eventually(
      async () => {
        const ro = (await shop()).rollout;
        if (!ro || ro.id === before) return undefined;
        if (!hooked && opts.during && ro.phase === 'shifting' && ro.candidateWeight > 0) {
          hooked = true;
          await opts.during(ro);
        }
        return ['promoted', 'blocked', 'rolled_back', 'failed'].includes(ro.phase) ? ro : undefined;
      },
      90_000,
      'the rollout to end',
    );
  };

  before(async () => {
    repo = pipelineRepo({
      cities: GROUPS,
      pipelineYaml: PIPELINE,
      extra: { 'forecast/train.py': MULTI_MODEL_TRAIN_PY, 'forecast/serve.py': MULTI_MODEL_SERVE_PY, 'forecast/it.py': MULTI_MODEL_IT_PY },
    });
    d = await startTestDaemon({ repo, args: ['--time-scale', '60'] });
  });
  after(async () => {
    await d?.stop();
  });

  it('puts the first version of every group live in one model server', async () => {
    const r = await deploy([]);
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    assert.equal(r.gates.integration_tests?.passed, true, 'the integration tests reached the model through MLP_INVOCATIONS_URL');
    const s = await status();
    assert.equal(s.capacity?.servers.total, 1, 'three live variants, one server');
    assert.deepEqual(
      s.pipelines[0]!.variants.map((v) => `${v.group} ${v.variant} ${v.role} ${v.state}`).sort(),
      GROUPS.map((g) => `${g} v1 current live`),
    );
    assert.deepEqual(
      await loaded(),
      GROUPS.map((g) => `${g}--v1`),
    );
    // Live traffic the next rollouts replay.
    for (let x = 1; x <= 30; x++) {
      for (const group of GROUPS) {
        const res = await invoke(group, x);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { y: 2 * x, model: `${group}--v1`, group });
      }
    }
    const text = await runCli('mlp', ['status', 'shop'], { env: d.clientEnv() });
    assert.equal(text.code, 0, text.stderr);
    for (const group of GROUPS) assert.match(text.stdout, new RegExp(`${group}\\b.*v1`));
  });

  it('rolls a second version out through replay and the shift in the same server, then unloads the first', async () => {
    const pid = servers()[0];
    const live = traffic(GROUPS, 1_000);
    const r = await deploy([]);
    const seen = await live.stop();
    assert.equal(r.phase, 'promoted', JSON.stringify(r.decisions, null, 1));
    assert.equal(r.candidateVersion, 'v2');
    assert.equal(r.gates.replay?.passed, true);
    assert.match(r.gates.replay!.summary, /\d+ requests/);
    assert.deepEqual(
      r.decisions.filter((x) => x.rule === 'replay').map((x) => x.verdict),
      ['advance'],
    );
    assert.deepEqual(
      seen.filter((s) => !/^\w+:\w+--v[12]$/.test(s)),
      [],
      'live traffic never failed',
    );
    for (const group of GROUPS) assert.ok(seen.includes(`${group}:${group}--v2`), `${group}'s candidate took traffic in the shift`);
    assert.deepEqual(servers(), [pid], 'the same server throughout');
    await eventually(
      async () => ((await loaded()).join() === GROUPS.map((g) => `${g}--v2`).join() ? true : undefined),
      10_000,
      'the first versions to be unloaded',
    );
    assert.equal((await status()).capacity?.servers.total, 1);
  });

  it("rolls one group's candidate back while the other groups' traffic goes on untouched", async () => {
    const others = GROUPS.filter((g) => g !== 'london');
    const live = traffic(others, 5_000);
    const r = await deploy(['--version', 'london=v1'], {
      during: async () => {
        assert.deepEqual(await loaded(), ['berlin--v2', 'london--v1', 'london--v2', 'paris--v2']);
        const rolled = await runCli('mlp', ['rollback', 'shop'], { env: d.clientEnv() });
        assert.equal(rolled.code, 0, rolled.stderr);
      },
    });
    const seen = await live.stop();
    assert.equal(r.phase, 'rolled_back', JSON.stringify(r.decisions, null, 1));
    assert.ok(seen.length > 0);
    assert.deepEqual(
      seen.filter((s) => !others.some((g) => s === `${g}:${g}--v2`)),
      [],
      'the other groups only ever saw their current model',
    );
    const after = await invoke('london', 7);
    assert.equal(after.status, 200);
    assert.equal(((await after.json()) as { model: string }).model, 'london--v2');
    await eventually(
      async () => ((await loaded()).join() === GROUPS.map((g) => `${g}--v2`).join() ? true : undefined),
      10_000,
      "the rolled-back candidate's model to be unloaded",
    );
  });

  it('brings the server back after SIGKILL with every model it hosted; its groups answer 503 saying why meanwhile', async () => {
    const [pid] = servers();
    process.kill(pid!, 'SIGKILL');
    const down = await eventually(
      async () => {
        const res = await invoke('paris', 1);
        return res.status === 503 ? ((await res.json()) as { error: string }).error : (await res.arrayBuffer(), undefined);
      },
      5_000,
      'a 503 while the server restarts',
    );
    assert.match(
      down,
      /no live model for shop\/paris: its current version v2 is not serving yet, its model server is starting; retry shortly/,
    );
    await eventually(
      async () => ((await shop()).variants.every((v) => v.state === 'live') ? true : undefined),
      30_000,
      'every variant to be live again',
    );
    assert.notDeepEqual(servers(), [pid]);
    assert.deepEqual(
      await loaded(),
      GROUPS.map((g) => `${g}--v2`),
    );
    for (const group of GROUPS) {
      const res = await invoke(group, 3);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { y: 6, model: `${group}--v2`, group });
    }
    assert.equal((await status()).capacity?.servers.total, 1);
  });
});

describe('multi-model serving on docker', () => {
  let d: TestDaemon | undefined;
  after(async () => {
    await d?.stop();
  });

  it('serves every group from one container that loads the models from /opt/ml/model', async () => {
    const repo = pipelineRepo({
      cities: ['lima', 'quito'],
      pipelineYaml: `pipeline:
  name: shop
  groups:
    generate: true
    source: warehouse.cities
  serve:
    mode: multi-model
  deployment:
    backend: docker
`,
      extra: {
        'forecast/train.py': MULTI_MODEL_TRAIN_PY,
        'forecast/serve.py': MULTI_MODEL_SERVE_PY,
        // SageMaker runs `docker run IMAGE serve`; this image's `serve` runs the configured command.
        'forecast/Dockerfile': `FROM ${TEST_IMAGE}\nCOPY serve-entry /usr/local/bin/serve\n`,
        'forecast/serve-entry': '#!/bin/sh\ncd /opt/ml/code && exec /bin/sh -c "$MLP_SERVE_COMMAND"\n',
      },
    });
    chmodSync(join(repo, 'forecast/serve-entry'), 0o755);
    const daemon = (d = await startTestDaemon({ repo }));
    assert.equal((await runCli('mlp', ['deploy', 'shop'], { env: daemon.clientEnv() })).code, 0);
    const s = await eventually(
      async () => {
        const r = JSON.parse((await runCli('mlp', ['status', '--json'], { env: daemon.clientEnv() })).stdout) as StatusJson;
        const variants = r.pipelines[0]!.variants;
        return variants.length === 2 && variants.every((v) => v.state === 'live' && v.backend === 'docker') ? r : undefined;
      },
      150_000,
      'both groups to serve from the container',
    );
    assert.equal(s.capacity?.servers.total, 1, 'one container for both groups');
    for (const group of ['lima', 'quito']) {
      const res = await fetch(`${daemon.serveUrl}/endpoints/shop/groups/${group}/invocations`, {
        method: 'POST',
        body: '{"x": 4}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { y: 8, model: `${group}--v1`, group });
    }
  });
});
