/**
 * The ledger of the daemon's children and the reaper, on real processes: what a killed daemon left
 * running is stopped (its whole process group, or what carries its MLP_CHILD_ID), a process that
 * merely reuses a recorded pid is never touched, and one that ignores SIGTERM gets SIGKILL.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CHILD_ENV, createChildLedger, type ChildEntry } from '../../../daemon/children/ledger.js';
import { bootId, parseProcStat, readProcStat } from '../../../daemon/children/proc.js';
import { reapLeftovers, targetsOf } from '../../../daemon/children/reaper.js';
import { eventually } from '../../helpers/daemon.js';
import { isAlive } from '../../helpers/processes.js';

const dirs: string[] = [];
const started: ChildProcess[] = [];
const ledgerDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mlp-children-'));
  dirs.push(d);
  return d;
};
/** A process group of its own, like the daemon's children: `sh` leading a `sleep` it started in the background. */
const spawnGroup = (script: string, env: Record<string, string> = {}) => {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore', env: { ...process.env, ...env } });
  started.push(child);
  return child;
};
const reap = (dir: string, graceMs = 2_000) => reapLeftovers({ dir, graceMs, warn: (m) => assert.fail(m) });
const gone = (pid: number) => !isAlive(pid) || readProcStat(pid)?.state === 'Z';

after(() => {
  for (const c of started) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // ended
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('/proc/<pid>/stat', () => {
  it('reads the group and start time after a command name holding spaces and parentheses', () => {
    const stat = parseProcStat('4242 (py (x) y) S 1 4240 4240 0 -1 4194560 1 0 0 0 7 3 0 0 20 0 1 0 987654 123 45 ...');
    assert.deepEqual(stat, { pid: 4242, state: 'S', pgid: 4240, startTime: 987654 });
  });
});

describe('reaping what a killed daemon left', () => {
  it('stops the recorded process and everything in its group, and empties the ledger', async () => {
    const dir = ledgerDir();
    const ledger = createChildLedger(dir);
    const record = ledger.process({ what: 'step train', run: { id: 'r1', step: 'train', group: 'oslo' } });
    const child = spawnGroup('sleep 300 & echo $! > "$PIDFILE"; wait', { ...record.env, PIDFILE: join(dir, 'grandchild') });
    record.spawned(child.pid);
    const grandchild = await eventually(
      () => Number(readFileSync(join(dir, 'grandchild'), 'utf8')) || undefined,
      5_000,
      'the background sleep',
    );
    // The daemon is killed here: `ended()` is never called.

    const reaped = await reap(dir);
    assert.equal(reaped.length, 1);
    assert.equal(reaped[0]!.outcome, 'stopped');
    assert.equal((reaped[0]!.entry as { pid?: number }).pid, child.pid);
    await eventually(() => (gone(child.pid!) && gone(grandchild) ? true : undefined), 3_000, 'the group to be gone');
    assert.deepEqual(readdirSync(dir), []);
  });

  it('never signals a process that only reuses a recorded pid (another start time)', async () => {
    const dir = ledgerDir();
    const bystander = spawnGroup('sleep 300');
    const stat = readProcStat(bystander.pid!)!;
    // A record of an earlier process that had this pid: same pid and group, earlier start.
    const entry: ChildEntry = {
      id: 'earlier',
      kind: 'process',
      purpose: { what: 'an old step' },
      recordedAt: 0,
      bootId: bootId(),
      pid: bystander.pid!,
      pgid: stat.pgid,
      startTime: stat.startTime - 1,
    };
    writeFileSync(join(dir, 'earlier.json'), JSON.stringify(entry));

    const reaped = await reap(dir);
    assert.deepEqual(
      reaped.map((r) => r.outcome),
      ['ended'],
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(isAlive(bystander.pid!) && !gone(bystander.pid!), 'the process that reused the pid still runs');
    // Nor under another boot, even with the same start time.
    assert.deepEqual(
      targetsOf({ ...entry, startTime: stat.startTime, bootId: 'another-boot' }, bootId(), new Map([[stat.pid, stat]]), new Map()),
      [],
    );
    assert.deepEqual(targetsOf({ ...entry, startTime: stat.startTime }, bootId(), new Map([[stat.pid, stat]]), new Map()), [
      { group: stat.pgid },
    ]);
  });

  it('finds a child by its MLP_CHILD_ID when the daemon died before writing its pid', async () => {
    const dir = ledgerDir();
    const record = createChildLedger(dir).process({ what: 'replay check' });
    const child = spawnGroup('sleep 300', record.env); // killed before `spawned(pid)`
    assert.equal(record.env[CHILD_ENV] !== undefined, true);

    const reaped = await reap(dir);
    assert.deepEqual(
      reaped.map((r) => r.outcome),
      ['stopped'],
    );
    await eventually(() => (gone(child.pid!) ? true : undefined), 3_000, 'the unrecorded child to be gone');
  });

  it("finds a child of this ledger whose record could not be written (a full disk), and no other ledger's", async () => {
    const dir = ledgerDir();
    const record = createChildLedger(dir).process({ what: 'model server' });
    const child = spawnGroup('sleep 300', record.env);
    record.spawned(child.pid);
    rmSync(join(dir, readdirSync(dir)[0]!)); // as if the write had failed
    const otherDir = ledgerDir();
    const others = createChildLedger(otherDir).process({ what: "another data dir's server" });
    const bystander = spawnGroup('sleep 300', others.env);
    others.spawned(bystander.pid);
    rmSync(join(otherDir, readdirSync(otherDir)[0]!));

    const reaped = await reap(dir);
    assert.deepEqual(
      reaped.map((r) => [r.entry.purpose.what, r.outcome]),
      [['a child with no record', 'stopped']],
    );
    await eventually(() => (gone(child.pid!) ? true : undefined), 3_000, 'the unrecorded child to be gone');
    assert.ok(!gone(bystander.pid!), "another ledger's child is left alone");
  });

  it('sends SIGKILL after the grace period to a process that ignores SIGTERM', async () => {
    const dir = ledgerDir();
    const record = createChildLedger(dir).process({ what: 'model server draining' });
    const child = spawnGroup("trap '' TERM; while :; do sleep 0.1; done", record.env);
    record.spawned(child.pid);
    await new Promise((r) => setTimeout(r, 200)); // the trap is set

    const t0 = Date.now();
    await reap(dir, 1_000);
    assert.ok(gone(child.pid!), 'killed');
    assert.ok(Date.now() - t0 >= 1_000, 'after the grace period');
  });

  it('leaves no record of a child that ended normally', async () => {
    const dir = ledgerDir();
    const ledger = createChildLedger(dir);
    const record = ledger.process({ what: 'step' });
    const child = spawnGroup('true', record.env);
    record.spawned(child.pid);
    await new Promise((r) => child.once('close', r));
    record.ended();
    await ledger.settled(); // the record is removed off the daemon's thread
    assert.deepEqual(readdirSync(dir), []);
    assert.deepEqual(await reap(dir), []);
  });
});
