/** The supervisor of one variant's model server, with real server processes. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLocalServerBackend } from '../../../daemon/serving/servers/servers.js';
import { supervise } from '../../../daemon/serving/servers/supervisor.js';
import { isAlive, pidsWithEnv } from '../../helpers/processes.js';

describe('model server supervisor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-supervisor-'));
  // A server that takes its time to answer /ping: a stop can come while it is still starting.
  writeFileSync(join(dir, 'serve.py'), 'import time\ntime.sleep(600)\n');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stopped the moment it was asked to start, it leaves no server running', async () => {
    const serverId = `test-${randomUUID()}`;
    const sup = supervise({
      spec: {
        pipeline: 'forecast',
        group: 'london',
        variant: 'v1',
        pipelineDir: dir,
        command: 'python3 serve.py',
        modelDir: dir,
        serverId,
      },
      backend: createLocalServerBackend(),
      startupTimeoutMs: 60_000,
      onChange: () => undefined,
      onLine: () => undefined,
    });
    await sup.stop(1_000);
    assert.equal(sup.state, 'stopped');
    // Time for a server started after the stop (the bug) to show up.
    await new Promise((r) => setTimeout(r, 500));
    const left = pidsWithEnv({ MLP_SERVER_ID: serverId }).filter(isAlive);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    assert.deepEqual(left, [], 'no server process is left');
  });
});
