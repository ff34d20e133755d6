/**
 * The server budget against a real `mlpd`: with `serving.max_servers: 2` and two models live, the rollout of a
 * third waits for room with a decision that says so, `mlp status` shows the budget in use, and after
 * `serving.budget_wait_minutes` it blocks; raised in mlp.yaml, the next deploy goes live.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fleetRepo } from '../helpers/fleet.js';

interface Decision {
  rule: string;
  verdict: string;
  reason: string;
  observed: unknown;
  threshold: unknown;
}
interface PipelineJson {
  name: string;
  current: { version: string } | null;
  rollout: { id: number; phase: string; reason: string | null; decisions: Decision[] } | null;
}
interface StatusJson {
  capacity: { servers: { total: number; max: number | null } };
  pipelines: PipelineJson[];
}

describe('server budget', () => {
  let repo: string;
  let daemon: TestDaemon;
  before(async () => {
    // At --time-scale 10 the 1-minute wait is 6 s, and the rollout tries again every 0.5 s.
    repo = fleetRepo({ pipelines: 3, groups: 1, repoExtra: 'serving:\n  max_servers: 2\n  budget_wait_minutes: 1\n' });
    daemon = await startTestDaemon({ repo, args: ['--time-scale', '10'] });
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
  const pipeline = async (name: string) => (await status()).pipelines.find((p) => p.name === name)!;
  const deploy = async (name: string) => assert.equal((await runCli('mlp', ['deploy', name], { env: daemon.clientEnv() })).code, 0);
  const live = (name: string) => eventually(async () => ((await pipeline(name)).current ? true : undefined), 30_000, `${name} to go live`);

  it('waits for room, says so, then blocks; a raised budget lets the next deploy go live', async () => {
    await deploy('p0001');
    await live('p0001');
    await deploy('p0002');
    await live('p0002');

    await deploy('p0003');
    const waiting = await eventually(
      async () => {
        const r = (await pipeline('p0003')).rollout;
        return r?.decisions.find((d) => d.rule === 'server_budget') ? r : undefined;
      },
      30_000,
      'the rollout to wait for room',
    );
    assert.equal(waiting.phase, 'deploying');
    const wait = waiting.decisions.find((d) => d.rule === 'server_budget')!;
    assert.equal(wait.verdict, 'wait');
    assert.deepEqual([wait.observed, wait.threshold], [2, 2]);
    assert.match(wait.reason, /v1 of p0003\/g1 needs a model server, and 2 of serving.max_servers 2 run: waiting for room \(at most 6 s/);
    const text = await runCli('mlp', ['status'], { env: daemon.clientEnv() });
    assert.match(text.stdout, /model servers: 2 of 2 serving; budget 2 of 2 \(serving.max_servers\)/);
    assert.match(text.stdout, /p0003: rollout #\d+ v1: deploying at 0% — v1 of p0003\/g1 needs a model server/);

    const blocked = await eventually(
      async () => {
        const r = (await pipeline('p0003')).rollout;
        return r?.phase === 'blocked' ? r : undefined;
      },
      30_000,
      'the rollout to block',
    );
    const block = blocked.decisions.filter((d) => d.rule === 'server_budget');
    assert.deepEqual(
      block.map((d) => d.verdict),
      ['wait', 'block'],
      'the wait is recorded once, then the block',
    );
    assert.match(blocked.reason!, /no room after waiting [\d.]+ s: raise serving.max_servers or retire models/);
    assert.equal((await status()).capacity.servers.total, 2, 'nothing was started beyond the budget');

    const config = join(repo, 'mlp.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('max_servers: 2', 'max_servers: 3'));
    await eventually(
      async () => ((await status()).capacity.servers.max === 3 ? true : undefined),
      10_000,
      'the daemon to read the new budget',
    );
    await deploy('p0003');
    await live('p0003');
    assert.equal((await status()).capacity.servers.total, 3);
  });
});
