/**
 * The daemon's run queue against a real `mlpd`: `runs.max_parallel: 1` lets one run go at a time; queued
 * runs start round robin by pipeline (a pipeline deployed three times does not keep the others waiting
 * behind all three), and `mlp status` shows each queued run's place and the runs against their limits.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fleetRepo } from '../helpers/fleet.js';

interface RunJson {
  id: string;
  pipeline: string;
  status: string;
  createdAt: number;
  startedAt: number | null;
}
interface StatusJson {
  capacity: { runs: { running: number; max: number; runningCloud: number; maxCloud: number; queued: string[] } };
  pipelines: { name: string; runs: RunJson[] }[];
}

describe('run queue', () => {
  let repo: string;
  let daemon: TestDaemon;
  before(async () => {
    // Each run's train takes 4 s, long enough for all the deploys below to queue behind the first.
    repo = fleetRepo({ pipelines: 3, groups: 1, trainSeconds: 4, repoExtra: 'runs:\n  max_parallel: 1\n' });
    daemon = await startTestDaemon({ repo });
  });
  after(async () => {
    await daemon?.stop();
    rmSync(repo, { recursive: true, force: true });
    rmSync(daemon.dataDir, { recursive: true, force: true });
  });

  const status = async (): Promise<StatusJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: daemon.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as StatusJson;
  };
  const deploy = async (pipeline: string): Promise<string> => {
    const r = await runCli('mlp', ['deploy', pipeline], { env: daemon.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return /run (r-\w+) queued/.exec(r.stdout)![1]!;
  };

  it('runs one at a time and serves the queue round robin by pipeline', async () => {
    const a1 = await deploy('p0001');
    const a2 = await deploy('p0001');
    const a3 = await deploy('p0001');
    const b1 = await deploy('p0002');
    const c1 = await deploy('p0003');

    const queued = await status();
    assert.equal(queued.capacity.runs.running, 1);
    assert.equal(queued.capacity.runs.max, 1);
    assert.equal(queued.capacity.runs.maxCloud, 10, 'the default limit of runs on SageMaker');
    // p0001 ran first: p0002 and p0003 go before its second and third run, though those were queued earlier.
    assert.deepEqual(queued.capacity.runs.queued, [b1, c1, a2, a3]);
    const text = await runCli('mlp', ['status'], { env: daemon.clientEnv() });
    assert.match(text.stdout, /runs: 1 of 1 on this machine, 0 of 10 on SageMaker, 4 queued/);
    assert.match(text.stdout, /p0002 .* queued #1 /);
    assert.match(text.stdout, /p0003 .* queued #2 /);

    const done = await eventually(
      async () => {
        const runs = (await status()).pipelines.flatMap((p) => p.runs);
        return runs.length === 5 && runs.every((r) => r.status === 'succeeded') ? runs : undefined;
      },
      90_000,
      'every run to succeed',
    );
    const started = [...done].sort((x, y) => x.startedAt! - y.startedAt!).map((r) => r.id);
    assert.deepEqual(started, [a1, b1, c1, a2, a3]);
  });
});
