/**
 * Containers a killed daemon left running (steps with --docker, docker model servers), against the
 * real Docker engine: found by their `mlp.child` label, stopped and removed; others are untouched.
 */
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeLabelledContainers } from '../../../daemon/children/containers.js';
import { createChildLedger } from '../../../daemon/children/ledger.js';
import { reapLeftovers } from '../../../daemon/children/reaper.js';
import { DOCKER_SOCKET, TEST_IMAGE } from '../../helpers/services.js';

describe('reaping containers', () => {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const dir = mkdtempSync(join(tmpdir(), 'mlp-children-'));
  const created: Docker.Container[] = [];
  const run = async (labels: Record<string, string>) => {
    const c = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['sleep', '300'],
      Labels: labels,
      HostConfig: { NetworkMode: 'host', Init: true },
    });
    created.push(c);
    await c.start();
    return c;
  };
  after(async () => {
    await Promise.all(created.map((c) => c.remove({ force: true }).catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops and removes the containers the ledger names, and only those', async () => {
    const record = createChildLedger(dir).container({ what: 'model server forecast/oslo/v2' });
    const left = await run({ 'mlp.test': 'reaper', ...record.labels }); // the daemon is killed: `ended()` never comes
    const other = await run({ 'mlp.test': 'reaper', 'mlp.child': 'someone-else' });

    const reaped = await reapLeftovers({
      dir,
      graceMs: 1_000,
      removeContainers: (label, graceMs) => removeLabelledContainers(label, graceMs, DOCKER_SOCKET),
      warn: (m) => assert.fail(m),
    });
    assert.deepEqual(
      reaped.map((r) => [r.entry.kind, r.outcome]),
      [['container', 'stopped']],
    );
    await assert.rejects(left.inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
    assert.equal((await other.inspect()).State.Running, true);
    assert.deepEqual(readdirSync(dir), []);
  });
});
