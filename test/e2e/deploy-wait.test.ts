/**
 * `mlp deploy --version GROUP=vN ... --wait`, as the rollout task of an exported Airflow DAG uses it:
 * versions trained by `mlp run` against mlpd's data dir are rolled out per group, the rollout is
 * followed to its end in the output, and the exit code says whether it was promoted.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pipelineRepo } from '../helpers/pipelines.js';

const PIPELINE = `pipeline:
  name: forecast
  groups:
    generate: true
    source: warehouse.cities
  deployment:
    integration_tests: python3 it.py
  steps:
    - name: train
      command: python3 train.py
`;
const IT_PY = `import pathlib, sys
if pathlib.Path("it-fails").exists():
    print("integration test: the candidate answered nonsense", flush=True)
    sys.exit(1)
`;

describe('mlp deploy --version GROUP=vN --wait', () => {
  let d: TestDaemon;
  let repo: string;
  before(async () => {
    repo = pipelineRepo({ pipelineYaml: PIPELINE, extra: { 'forecast/it.py': IT_PY } });
    d = await startTestDaemon({ repo });
    for (const group of ['london', 'paris']) {
      const r = await runCli('mlp', ['run', 'train', '--local', '--group', group], {
        cwd: join(repo, 'forecast'),
        env: { MLP_DATA_DIR: d.dataDir },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await d?.stop();
    rmSync(repo, { recursive: true, force: true });
  });

  const deploy = (...args: string[]) => runCli('mlp', ['deploy', 'forecast', ...args], { env: d.clientEnv(), timeoutMs: 60_000 });

  it('exits 1 when the rollout ends blocked, with each phase and the gate that blocked it in the output', async () => {
    writeFileSync(join(repo, 'forecast/it-fails'), '');
    try {
      const r = await deploy('--version', 'london=v1', '--version', 'paris=v1', '--wait');
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /forecast: rolling out london v1, paris v1, rollout #1/);
      assert.match(r.stderr, /integration_tests: block: /);
      assert.match(r.stdout, /^forecast: rollout #1 blocked: /);
    } finally {
      rmSync(join(repo, 'forecast/it-fails'));
    }
  });

  it('exits 0 once the rollout is promoted, and mlpd then serves those versions', async () => {
    const r = await deploy('--version', 'london=v1', '--version', 'paris=v1', '--wait');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /rollout #2: deploying, candidates at 0%/);
    assert.match(r.stderr, /rollout #2: promoted, candidates at 100%/);
    assert.match(r.stdout, /^forecast: rollout #2 promoted: first version, live at 100%\n$/);
    const status = JSON.parse((await runCli('mlp', ['status', '--json'], { env: d.clientEnv() })).stdout) as {
      pipelines: { current: { groups: Record<string, string> } | null }[];
    };
    assert.deepEqual(status.pipelines[0]!.current?.groups, { london: 'v1', paris: 'v1' });
  });

  it('refuses versions a group does not have, naming each', async () => {
    const r = await deploy('--version', 'london=v7', '--version', 'paris=v1', '--wait');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /forecast has no model version v7 of group 'london': was it trained against another data dir\?/);
  });

  it('refuses bad --version and --wait combinations with exit 2, before reaching mlpd', async () => {
    for (const [args, message] of [
      [['--wait'], /--wait follows the rollout of existing versions: pass --version/],
      [['--version', 'v1', '--version', 'v2'], /one --version vN, or --version GROUP=vN per group/],
      [['--version', 'london=v1', '--version', 'v2'], /--version vN and --version GROUP=vN do not mix/],
      [['--version', 'london=3'], /--version 'london=3' is not GROUP=vN/],
      [['--version', 'london=v1', '--version', 'london=v2'], /names group 'london' twice/],
    ] as const) {
      const r = await runCli('mlp', ['deploy', 'forecast', ...args], { env: { MLP_URL: 'ws://127.0.0.1:1', MLP_TOKEN: 'x' } });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
