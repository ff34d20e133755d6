/**
 * The ledger of the daemon's children: every process and container a daemon starts (steps,
 * integration tests, data checks, replay checks, model servers) is written down before it exists
 * and crossed out when it has ended, so the next daemon on the same data dir can stop whatever a
 * daemon killed with -9 left running (reaper.ts).
 *
 * One small JSON file per child under `<data dir>/children/`, not a table in mlp.db, because:
 * - the record is written synchronously between "about to spawn" and the spawn, deep inside the
 *   executors and checks, which do not otherwise depend on the store (and also run in `mlp run`,
 *   with no daemon and no ledger);
 * - a child's end is noticed in exit callbacks that can fire while the daemon shuts down, after the
 *   store is closed; removing a file needs nothing open;
 * - each file is written once (atomically: temporary file, then rename) and removed once, so no
 *   two children ever contend for the same record.
 * The files are not fsync'd: a killed daemon's writes are in the page cache and survive it, and
 * after an OS crash no child survives either.
 *
 * A child is found again by its pid and start time (proc.ts), and, for the instant between the
 * fork and writing the pid, by MLP_CHILD_ID in its environment (inherited by what it starts) or the
 * `mlp.child` label of a container. Ids begin with the ledger's owner mark (a hash of its folder),
 * so a child whose record could not be written (a full disk) is still found by its environment:
 * a record that cannot be written does not stop a model server from starting.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { bootId, readProcStat } from './proc.js';

/** The environment variable that marks a child process (and everything it starts) as the ledger's. */
export const CHILD_ENV = 'MLP_CHILD_ID';
/** The label that marks a container as the ledger's. */
export const CHILD_LABEL = 'mlp.child';

/** What a child is, for the log and for the recovery of the run it belonged to. */
export interface ChildPurpose {
  /** e.g. `step 'train' of forecast/london`, `model server forecast/london/v3`. */
  what: string;
  /** A step of a run (training steps, integration tests): the run's recovery message names it. */
  run?: { id: string; step: string; group: string };
}

export type ChildEntry = {
  id: string;
  purpose: ChildPurpose;
  recordedAt: number;
} & ({ kind: 'process'; bootId: string; pid?: number; pgid?: number; startTime?: number } | { kind: 'container' });

export interface ProcessRecord {
  /** Add to the child's environment. */
  readonly env: Record<string, string>;
  /** Call right after spawn returned (pid undefined: it did not start). */
  spawned(pid: number | undefined): void;
  /** Call once the child and its output have ended. */
  ended(): void;
}

export interface ContainerRecord {
  /** Add to the container's labels. */
  readonly labels: Record<string, string>;
  /** Call once the container is removed. */
  ended(): void;
}

export interface ChildLedger {
  /** Records a process before it is spawned. */
  process(purpose: ChildPurpose): ProcessRecord;
  /** Records a container before it is created. */
  container(purpose: ChildPurpose): ContainerRecord;
  /** Resolves once the records of children that ended are removed (await it before the daemon exits). */
  settled(): Promise<void>;
}

/** For children nobody needs to find again (`mlp run`, tests of a single part). */
export const UNRECORDED: ChildLedger = {
  process: () => ({ env: {}, spawned: () => undefined, ended: () => undefined }),
  container: () => ({ labels: {}, ended: () => undefined }),
  settled: () => Promise.resolve(),
};

export function childrenDir(dataDir: string): string {
  return join(dataDir, 'children');
}

/** The start of every child id of the ledger in `dir`: children of other data dirs never share it. */
export function ledgerOwner(dir: string): string {
  return createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 12);
}

export interface LedgerOptions {
  now?: () => number;
  /** A record could not be written or removed; the child starts anyway (default: throw). */
  onWriteError?(err: Error): void;
}

export function createChildLedger(dir: string, opts: LedgerOptions = {}): ChildLedger {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = opts.now ?? Date.now;
  const owner = ledgerOwner(dir);
  const boot = bootId();
  const file = (id: string) => join(dir, `${id}.json`);
  const guarded = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!opts.onWriteError) throw err;
      opts.onWriteError(err as Error);
    }
  };
  const write = (entry: ChildEntry) =>
    guarded(() => {
      const tmp = `${file(entry.id)}.tmp`;
      writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
      renameSync(tmp, file(entry.id));
    });
  // Removal is off the daemon's thread: an unlink can take milliseconds, and a thousand servers end
  // together when the daemon stops. A record left by a crash in between names a process that has ended:
  // the reaper checks its pid and start time and leaves it alone.
  const removing = new Set<Promise<void>>();
  const remove = (id: string) => {
    const done = unlink(file(id))
      .catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') opts.onWriteError?.(err);
      })
      .finally(() => removing.delete(done));
    removing.add(done);
  };
  const newId = () => `${owner}.${randomUUID()}`;

  return {
    process(purpose) {
      const id = newId();
      const entry: ChildEntry = { id, purpose, recordedAt: now(), kind: 'process', bootId: boot };
      write(entry);
      let ended = false;
      return {
        env: { [CHILD_ENV]: id },
        spawned(pid) {
          if (pid === undefined) return remove(id);
          const stat = readProcStat(pid);
          // Gone already (it ran for an instant): its record ends with it.
          if (!stat) return;
          if (!ended) write({ ...entry, pid, pgid: stat.pgid, startTime: stat.startTime });
        },
        ended() {
          ended = true;
          remove(id);
        },
      };
    },
    container(purpose) {
      const id = newId();
      write({ id, purpose, recordedAt: now(), kind: 'container' });
      return { labels: { [CHILD_LABEL]: id }, ended: () => remove(id) };
    },
    async settled() {
      while (removing.size) await Promise.all(removing);
    },
  };
}

/** The entries a previous daemon left (unreadable files are skipped: they cannot name a child). */
export function readLedger(dir: string): { entries: ChildEntry[]; remove(id: string): void } {
  const entries: ChildEntry[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // no ledger yet
  }
  for (const name of names) {
    const path = join(dir, name);
    if (!name.endsWith('.json')) {
      rmSync(path, { force: true }); // a temporary file cut short by the kill
      continue;
    }
    try {
      entries.push(JSON.parse(readFileSync(path, 'utf8')) as ChildEntry);
    } catch {
      rmSync(path, { force: true });
    }
  }
  return { entries, remove: (id) => rmSync(join(dir, `${id}.json`), { force: true }) };
}
