/**
 * A restart of a fleet in multi-model mode (8 pipelines × 5 groups, all 40 variants live): mlpd brings back one
 * server per pipeline, not one per variant, and every variant serves again through it; the server budget counts
 * those 8 servers; SIGTERM leaves no process behind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fleetRepo, groupNames, pipelineName, seedLiveVariants } from '../helpers/fleet.js';
import { isAlive, pidsWithEnv } from '../helpers/processes.js';

const PIPELINES = 8;
const GROUPS = 5;
const variants = Array.from({ length: PIPELINES }, (_, i) =>
  groupNames(GROUPS).map((group) => ({ pipeline: pipelineName(i), group })),
).flat();

describe('a multi-model fleet', () => {
  let repo: string;
  let dataDir: string;
  let daemon: TestDaemon | undefined;
  before(() => {
    // A budget of 8 servers: 40 variants fit, as 8 multi-model servers.
    repo = fleetRepo({ pipelines: PIPELINES, groups: GROUPS, serveMode: 'multi-model', repoExtra: 'serving:\n  max_servers: 8\n' });
    dataDir = mkdtempSync(join(tmpdir(), 'mlp-mm-fleet-'));
    seedLiveVariants(dataDir, variants);
  });
  after(async () => {
    await daemon?.stop('SIGKILL');
    for (const pid of servers()) process.kill(pid, 'SIGKILL');
    rmSync(repo, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  const servers = () =>
    Array.from({ length: PIPELINES }, (_, i) =>
      pidsWithEnv({ MLP_SERVE_MODE: 'multi-model', MLP_MODEL_DIR: join(dataDir, 'artifacts', pipelineName(i)) }),
    )
      .flat()
      .filter(isAlive);

  it('brings back one server per pipeline, and every variant serves again through it', async () => {
    const d = (daemon = await startTestDaemon({ repo, dataDir }));
    const status = async () => {
      const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as {
        capacity: { servers: { total: number; live: number; max: number | null } };
        pipelines: { variants: { state: string }[] }[];
      };
    };
    await eventually(
      async () => {
        const s = await status();
        return s.pipelines.every((p) => p.variants.every((v) => v.state === 'live')) ? s : undefined;
      },
      60_000,
      'every variant to be live',
    );
    const s = await status();
    assert.deepEqual(s.capacity.servers, { ...s.capacity.servers, total: PIPELINES, live: PIPELINES, max: 8 });
    assert.equal(servers().length, PIPELINES, 'one process per pipeline, spawned directly');
    for (const v of variants) {
      const res = await fetch(`${d.serveUrl}/endpoints/${v.pipeline}/groups/${v.group}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"x": 1}',
      });
      assert.equal(res.status, 200, `${v.pipeline}/${v.group}`);
      assert.deepEqual(await res.json(), { group: v.group, body: { x: 1 } });
    }
    const text = await runCli('mlp', ['status'], { env: d.clientEnv() });
    assert.match(text.stdout, /model servers: 8 of 8 serving/);
  });

  it('stops every server with SIGTERM, leaving no process', async () => {
    const pids = servers();
    assert.equal(await daemon!.stop('SIGTERM'), 0);
    assert.deepEqual(pids.filter(isAlive), []);
  });
});
