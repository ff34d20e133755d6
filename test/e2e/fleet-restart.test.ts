/**
 * A restart of a daemon with many live variants (8 pipelines × 5 groups, each server taking a second to
 * start, 4 starting at once): the API answers before the servers are back and `mlp status` says how many
 * are; a group whose server is not back gets a 503 that says so; every variant serves again after; SIGTERM
 * stops them all within seconds and leaves no process and no ledger record behind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactDir } from '../../daemon/runs/artifacts.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fleetRepo, groupNames, pipelineName, seedLiveVariants } from '../helpers/fleet.js';
import { isAlive, pidsWithEnv } from '../helpers/processes.js';

const PIPELINES = 8;
const GROUPS = 5;
const variants = Array.from({ length: PIPELINES }, (_, i) =>
  groupNames(GROUPS).map((group) => ({ pipeline: pipelineName(i), group })),
).flat();

interface StatusJson {
  capacity: { servers: { total: number; live: number; starting: number; waiting: number; failed: number } } | null;
  pipelines: { name: string; variants: { group: string; state: string }[] }[];
}

describe('a restart with many live variants', () => {
  let repo: string;
  let dataDir: string;
  let daemon: TestDaemon | undefined;
  before(() => {
    repo = fleetRepo({ pipelines: PIPELINES, groups: GROUPS, startDelaySeconds: 1, repoExtra: 'serving:\n  starting_at_once: 4\n' });
    dataDir = mkdtempSync(join(tmpdir(), 'mlp-fleet-'));
    seedLiveVariants(dataDir, variants);
  });
  after(async () => {
    await daemon?.stop('SIGKILL');
    for (const v of variants)
      for (const pid of pidsWithEnv({ MLP_MODEL_DIR: artifactDir(dataDir, v.pipeline, v.group, 1) }))
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(repo, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  const status = async (): Promise<StatusJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: daemon!.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as StatusJson;
  };
  const invoke = (v: { pipeline: string; group: string }) =>
    fetch(`${daemon!.serveUrl}/endpoints/${v.pipeline}/groups/${v.group}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"x": 1}',
    });

  it('answers the API before the servers are back, says how many are, and every variant serves again after', async () => {
    daemon = await startTestDaemon({ repo, dataDir });
    // 40 servers, 4 at a time, a second each: ten seconds before the last is back.
    const early = await status();
    assert.ok(early.capacity, 'status says what the servers are doing');
    assert.equal(early.capacity.servers.total, variants.length);
    assert.ok(early.capacity.servers.live < variants.length, `not all back yet: ${JSON.stringify(early.capacity.servers)}`);
    assert.ok(early.capacity.servers.starting <= 4, `at most 4 start at once: ${JSON.stringify(early.capacity.servers)}`);
    // Restored last (the highest variant id): still waiting its turn, its variant says starting, not live.
    const last = variants.at(-1)!;
    const lastView = early.pipelines.find((p) => p.name === last.pipeline)!.variants.find((v) => v.group === last.group)!;
    assert.equal(lastView.state, 'starting');
    const res = await invoke(last);
    assert.equal(res.status, 503);
    assert.match(
      ((await res.json()) as { error: string }).error,
      new RegExp(
        `no live model for ${last.pipeline}/${last.group}: its current version v1 is not serving yet, its model server is starting; retry shortly`,
      ),
    );

    await eventually(
      async () => ((await status()).capacity?.servers.live === variants.length ? true : undefined),
      60_000,
      'every server to be back',
    );
    for (const v of variants) {
      const r = await invoke(v);
      assert.equal(r.status, 200, `${v.pipeline}/${v.group} serves again`);
      assert.equal(((await r.json()) as { group: string }).group, v.group);
    }
    const text = await runCli('mlp', ['status'], { env: daemon.clientEnv() });
    assert.match(text.stdout, /model servers: 40 of 40 serving\n/);
  });

  it('stops every server with SIGTERM within seconds, leaving no process and no ledger record', async () => {
    const pids = variants.flatMap((v) => pidsWithEnv({ MLP_MODEL_DIR: artifactDir(dataDir, v.pipeline, v.group, 1) }));
    // Spawned directly: one process per server, no /bin/sh in between.
    assert.equal(pids.length, variants.length);
    const t0 = Date.now();
    assert.equal(await daemon!.stop('SIGTERM'), 0);
    const took = Date.now() - t0;
    assert.ok(took < 5_000, `stopped in ${took} ms`);
    assert.deepEqual(pids.filter(isAlive), []);
    assert.deepEqual(readdirSync(join(dataDir, 'children')), []);
  });
});
