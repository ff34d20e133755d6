/**
 * Stops what a previous daemon on this data dir left running: it died (kill -9, a crash) without
 * stopping its children, which the kernel handed to init, still training, checking or serving.
 * Run once at start, before anything new is started and only while holding the data dir's lock
 * (lock.ts), so every entry of the ledger belongs to a daemon that is gone.
 *
 * A process is stopped only if it is provably the recorded one: same boot, same pid and same start
 * time (then its whole process group is signalled), or carrying the child's MLP_CHILD_ID (what it
 * started, or a child whose pid never reached the ledger), or an MLP_CHILD_ID of this ledger whose
 * record could not be written at all. A recycled pid is never signalled.
 * SIGTERM first; SIGKILL to what is left after the grace period. Containers go by their label.
 */
import { describeError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import { CHILD_ENV, CHILD_LABEL, childrenDir, ledgerOwner, readLedger, type ChildEntry } from './ledger.js';
import { bootId, envValues, listProcesses, type ProcStat } from './proc.js';

export interface ReapedChild {
  entry: ChildEntry;
  /** `stopped`: it was still running and was stopped now; `ended`: it had ended by itself. */
  outcome: 'stopped' | 'ended';
}

export interface ReapOptions {
  /** The ledger folder (`childrenDir(dataDir)`). */
  dir: string;
  /** Between SIGTERM and SIGKILL (and docker's stop timeout). */
  graceMs: number;
  /** Removes containers carrying a label `mlp.child=<id>`; returns how many there were. Loaded only when the ledger has containers. */
  removeContainers?: (labelValue: string, graceMs: number) => Promise<number>;
  warn(message: string): void;
}

/** What a killed daemon left running gets this long between SIGTERM and SIGKILL (as a step past its limit). */
const PREDECESSOR_GRACE_MS = 5_000;

/** Stops what the previous daemon on this data dir left running when it was killed, and says so. */
export async function reapPredecessorsChildren(dataDir: string, log: Logger): Promise<ReapedChild[]> {
  const reaped = await reapLeftovers({
    dir: childrenDir(dataDir),
    graceMs: PREDECESSOR_GRACE_MS,
    removeContainers: async (label, graceMs) => (await import('./containers.js')).removeLabelledContainers(label, graceMs),
    warn: (message) => log.warn('daemon', message),
  });
  for (const { entry } of reaped.filter((c) => c.outcome === 'stopped')) {
    const where = entry.kind === 'process' && entry.pid !== undefined ? ` (pid ${entry.pid})` : '';
    log.warn('daemon', `stopped ${entry.purpose.what}${where}: the previous mlpd stopped without stopping it`);
  }
  return reaped;
}

/** A process to stop: a whole group (its leader was verified) or one process. */
type Target = { group: number } | { pid: number; startTime: number };

export async function reapLeftovers(opts: ReapOptions): Promise<ReapedChild[]> {
  const ledger = readLedger(opts.dir);
  const reaped: ReapedChild[] = [];

  const processes = ledger.entries.filter((e): e is Extract<ChildEntry, { kind: 'process' }> => e.kind === 'process');
  const all = listProcesses().filter((p) => p.state !== 'Z');
  const marked = envValues(
    CHILD_ENV,
    all.map((p) => p.pid),
  );
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const boot = bootId();
  const targets: Target[] = [];
  for (const entry of processes) {
    const found = targetsOf(entry, boot, byPid, marked);
    targets.push(...found);
    reaped.push({ entry, outcome: found.length > 0 ? 'stopped' : 'ended' });
  }
  for (const stray of strays(ledgerOwner(opts.dir), new Set(ledger.entries.map((e) => e.id)), byPid, marked)) {
    targets.push(stray.pgid === stray.pid ? { group: stray.pid } : { pid: stray.pid, startTime: stray.startTime });
    const entry: ChildEntry = {
      id: stray.id,
      kind: 'process',
      purpose: { what: 'a child with no record' },
      recordedAt: 0,
      bootId: boot,
      pid: stray.pid,
    };
    reaped.push({ entry, outcome: 'stopped' });
  }
  await stopAll(targets, opts.graceMs);
  for (const entry of processes) ledger.remove(entry.id);

  for (const entry of ledger.entries.filter((e) => e.kind === 'container')) {
    try {
      const removed = await opts.removeContainers!(entry.id, opts.graceMs);
      reaped.push({ entry, outcome: removed > 0 ? 'stopped' : 'ended' });
      ledger.remove(entry.id);
    } catch (err) {
      // Kept in the ledger: the next start tries again.
      opts.warn(`cannot remove the container of ${entry.purpose.what} (label ${CHILD_LABEL}=${entry.id}): ${describeError(err)}`);
    }
  }
  return reaped;
}

/** Pure: which processes of `now` are the recorded child's. */
export function targetsOf(
  entry: Extract<ChildEntry, { kind: 'process' }>,
  boot: string,
  now: ReadonlyMap<number, ProcStat>,
  marked: ReadonlyMap<number, string>,
): Target[] {
  const targets: Target[] = [];
  const leader = entry.pid !== undefined ? now.get(entry.pid) : undefined;
  const sameProcess = entry.bootId === boot && leader !== undefined && leader.startTime === entry.startTime;
  if (sameProcess && entry.pgid !== undefined) targets.push({ group: entry.pgid });
  for (const [pid, id] of marked) {
    if (id !== entry.id) continue;
    const p = now.get(pid);
    if (p && !(sameProcess && p.pgid === entry.pgid)) targets.push({ pid, startTime: p.startTime });
  }
  return targets;
}

/** Processes marked as this ledger's children that no record names (it could not be written). */
function strays(owner: string, recorded: ReadonlySet<string>, now: ReadonlyMap<number, ProcStat>, marked: ReadonlyMap<number, string>) {
  const found: (ProcStat & { id: string })[] = [];
  for (const [pid, id] of marked) {
    const p = now.get(pid);
    if (p && id.startsWith(`${owner}.`) && !recorded.has(id)) found.push({ ...p, id });
  }
  // A group leader stands for its group; its members need no signal of their own.
  const leaders = new Set(found.filter((p) => p.pgid === p.pid).map((p) => p.pgid));
  return found.filter((p) => p.pgid === p.pid || !leaders.has(p.pgid));
}

async function stopAll(targets: readonly Target[], graceMs: number): Promise<void> {
  if (targets.length === 0) return;
  const living = () => {
    const now = new Map(
      listProcesses()
        .filter((p) => p.state !== 'Z')
        .map((p) => [p.pid, p]),
    );
    return targets.filter((t) => alive(t, now));
  };
  for (const t of living()) signal(t, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && living().length > 0) await new Promise((r) => setTimeout(r, 100));
  for (const t of living()) signal(t, 'SIGKILL');
  // SIGKILL cannot be refused; wait (briefly) so ports and files are free when the daemon goes on.
  const killed = Date.now() + 2_000;
  while (Date.now() < killed && living().length > 0) await new Promise((r) => setTimeout(r, 50));
}

/** Zombies count as ended: they hold no port or file, and init collects them. */
function alive(t: Target, now: ReadonlyMap<number, ProcStat>): boolean {
  if ('group' in t) return [...now.values()].some((p) => p.pgid === t.group);
  return now.get(t.pid)?.startTime === t.startTime;
}

function signal(t: Target, sig: NodeJS.Signals): void {
  // Only targets seen alive a moment ago are signalled: a group exists only while one of its members
  // does, so it cannot be another's yet, and a single process was matched by its start time.
  try {
    process.kill('group' in t ? -t.group : t.pid, sig);
  } catch {
    // ended meanwhile
  }
}
