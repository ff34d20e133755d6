/** The supervisor of one variant's model server, with real server processes. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLocalServerBackend } from '../../../daemon/serving/servers/servers.js';
import { supervise } from '../../../daemon/serving/servers/supervisor.js';
import { isAlive, noSessionGroups, pidsWithEnv, sessionNice } from '../../helpers/processes.js';

describe('model server supervisor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-supervisor-'));
  const spec = (command: string, serverId = `test-${randomUUID()}`) => ({
    pipeline: 'forecast',
    group: 'london',
    variant: 'v1',
    pipelineDir: dir,
    command,
    modelDir: dir,
    serverId,
  });
  // A server that takes its time to answer /ping: a stop can come while it is still starting.
  writeFileSync(join(dir, 'serve.py'), 'import time\ntime.sleep(600)\n');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stopped the moment it was asked to start, it leaves no server running', async () => {
    const serverId = `test-${randomUUID()}`;
    const sup = supervise({
      spec: spec('python3 serve.py', serverId),
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

  // Where Linux schedules sessions as groups (autogroups), a starting server's session yields the CPU
  // (serving.starting_nice); once it answers /ping it serves traffic and gets the daemon's priority back.
  it('starts a server at serving.starting_nice and gives it the CPU back once it answers /ping', { skip: noSessionGroups }, async () => {
    // Listens after a second, as a server loading its model does; the test looks at it in between.
    writeFileSync(
      join(dir, 'slow-start.mjs'),
      `import http from 'node:http';
setTimeout(() => http.createServer((q, s) => s.end('{}')).listen(Number(process.env.PORT), process.env.HOST), 1000);`,
    );
    let handle: string | null = null;
    const sup = supervise({
      spec: spec(`${process.execPath} slow-start.mjs`),
      backend: createLocalServerBackend({ startingNice: () => 9 }),
      startupTimeoutMs: 30_000,
      onChange: (c) => (handle = c.handle ?? handle),
      onLine: () => undefined,
    });
    try {
      const t0 = Date.now();
      while (handle === null && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 10));
      const pid = Number(String(handle).replace('pid:', ''));
      let starting: number | null = null;
      while (sup.state === 'starting' && (starting = sessionNice(pid)) !== 9) await new Promise((r) => setTimeout(r, 10));
      assert.equal(starting, 9, 'while starting, its session yields the CPU');
      await sup.firstLive;
      let live = sessionNice(pid);
      for (let i = 0; i < 100 && live !== 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        live = sessionNice(pid);
      }
      assert.equal(live, 0, 'once live, it runs at the priority of the daemon');
    } finally {
      await sup.stop(1_000);
    }
  });
});
