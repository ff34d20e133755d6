/** Children (model servers, steps) started from the spawner's thread: pid, output, exit and close arrive as for a child of the daemon's own. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSpawner } from '../../../daemon/children/spawner.js';
import { noSessionGroups, sessionNice } from '../../helpers/processes.js';

async function until(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

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

  it(
    'gives a child the CPU priority of its session it was started with, and gives it back when told',
    { skip: noSessionGroups },
    async () => {
      const child = spawner.spawn({ file: 'sleep', args: ['30'], cwd: tmpdir(), env: {}, sessionNice: 7 }, () => undefined);
      const pid = (await child.pid)!;
      try {
        await until('the session at nice 7', () => sessionNice(pid) === 7);
        spawner.setSessionNice(pid, 0);
        await until('the session back at nice 0', () => sessionNice(pid) === 0);
      } finally {
        process.kill(-pid, 'SIGKILL');
        await child.closed;
      }
    },
  );

  // Without CAP_SYS_ADMIN the kernel takes one session-priority write per 100 ms for the whole machine:
  // children started together must still all get theirs. Run as `nobody` when the tests run as root.
  const asNobody = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
  const fixture = join(import.meta.dirname, 'session-nice.mts');
  const readable =
    asNobody && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', fixture]).status === 0;
  it(
    'without privileges, children started together all get their session priority (the kernel takes one a 100 ms)',
    {
      skip: noSessionGroups || (!readable && 'needs root, setpriv and a checkout user nobody can read'),
    },
    () => {
      const tsx = join(import.meta.dirname, '../../../node_modules/tsx/dist/esm/index.mjs');
      const out = execFileSync(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', tsx, fixture, '5', '6'],
        { encoding: 'utf8', cwd: '/', timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      );
      const { nices } = JSON.parse(out) as { nices: number[] };
      assert.deepEqual(nices, [6, 6, 6, 6, 6]);
    },
  );
});
