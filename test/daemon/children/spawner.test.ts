/** Children (model servers, steps) started from the spawner's thread: pid, output, exit and close arrive as for a child of the daemon's own. */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { createSpawner } from '../../../daemon/children/spawner.js';

describe('spawner', () => {
  const spawner = createSpawner();

  it('reports the pid, the output, the exit code and the end of the output', async () => {
    const out: string[] = [];
    const child = spawner.spawn(
      { file: '/bin/sh', args: ['-c', 'echo hello; echo oops >&2; exit 3'], cwd: tmpdir(), env: {} },
      (stream, chunk) => out.push(`${stream}:${chunk.toString().trim()}`),
    );
    const pid = await child.pid;
    assert.ok(pid !== undefined && pid > 0);
    assert.deepEqual(await child.exited, { code: 3, signal: null });
    await child.closed;
    assert.deepEqual(out.sort(), ['stderr:oops', 'stdout:hello']);
  });

  it('leads a process group of its own, so the daemon can signal the whole server', async () => {
    const child = spawner.spawn({ file: '/bin/sh', args: ['-c', 'sleep 30 & sleep 30'], cwd: tmpdir(), env: {} }, () => undefined);
    const pid = (await child.pid)!;
    process.kill(-pid, 'SIGTERM');
    assert.deepEqual(await child.exited, { code: null, signal: 'SIGTERM' });
    await child.closed; // the background sleep held the pipes: it ended with the group
  });

  it("gives the child the daemon's environment as it is now, plus the request's variables over it", async () => {
    await spawner.spawn({ file: '/bin/true', args: [], cwd: tmpdir(), env: {} }, () => undefined).closed; // the worker runs
    process.env.MLP_SPAWNER_TEST = 'set after the worker started';
    process.env.MLP_SPAWNER_OVER = 'the daemon';
    try {
      let out = '';
      const child = spawner.spawn(
        {
          file: '/bin/sh',
          args: ['-c', 'echo "$MLP_SPAWNER_TEST|$MLP_SPAWNER_OVER|$MLP_SPAWNER_ONLY"'],
          cwd: tmpdir(),
          env: { MLP_SPAWNER_OVER: 'the request', MLP_SPAWNER_ONLY: 'added' },
        },
        (_s, chunk) => (out += chunk.toString()),
      );
      await child.closed;
      assert.equal(out.trim(), 'set after the worker started|the request|added');
    } finally {
      delete process.env.MLP_SPAWNER_TEST;
      delete process.env.MLP_SPAWNER_OVER;
    }
  });

  it('says why a program could not be started', async () => {
    const child = spawner.spawn({ file: 'no-such-program-mlp', args: [], cwd: tmpdir(), env: {} }, () => undefined);
    assert.equal(await child.pid, undefined);
    const exited = await child.exited;
    assert.equal(exited.error?.code, 'ENOENT');
    await child.closed;
  });
});
