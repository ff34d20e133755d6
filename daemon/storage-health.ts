/**
 * What the daemon does when its database refuses writes (disk full, I/O error): serving and the
 * in-memory state go on, the problem is said once (then counted) and shown in `mlp status`, and the
 * writes that matter are kept and retried until the disk takes them again. A background callback
 * never lets a storage error escape: an uncaught one would end the process and the router with it.
 *
 * A disk that is nearly full lets some writes through (a failed file write frees its blocks again),
 * so recovery is only said once writes have succeeded for a quiet spell (five retry intervals)
 * without a refusal: a flapping disk is one problem, said once, not a line per flap.
 *
 * Keyed writes restate a whole record (a variant's observed state), so a newer write under the same
 * key replaces the waiting one: what is stored after recovery is the latest state, not a replay.
 */
import { describeError } from '../shared/errors.js';
import type { Logger } from './log.js';
import { isStorageUnavailable } from './store/sqlite-errors.js';

export interface StorageProblem {
  /** The database's own words (`database or disk is full`). */
  error: string;
  /** When writes started to fail. */
  since: number;
  /** Writes refused since then (each retry of a waiting write counts once). */
  failedWrites: number;
  /** Writes kept in memory, stored once the database accepts writes again. */
  pendingWrites: number;
}

export interface StorageHealth {
  /**
   * Runs `write`; when storage refuses it, keeps it under `key` (replacing an older one) and retries
   * it until it succeeds. True when it was written now. Errors that are not about storage are thrown.
   */
  write(key: string, write: () => void): boolean;
  /**
   * `write` for many records at once, in one transaction (`together` runs its function in one): all are written,
   * or, when storage refuses, each waits under its own key as a refused `write` would.
   */
  writeTogether(writes: ReadonlyMap<string, () => void>, together: (all: () => void) => void): boolean;
  /** A write done elsewhere was refused by storage: report it (once) and count it. False when `err` is not a storage error. */
  failed(err: unknown): boolean;
  /** A write succeeded: ends a reported problem once nothing waits any more. */
  succeeded(): void;
  /** The current problem, null while writes succeed. */
  problem(): StorageProblem | null;
  /** How long callers wait before retrying a refused write. */
  readonly retryEveryMs: number;
  /** Tries once more to write what waits (at shutdown). */
  close(): void;
}

export function createStorageHealth(opts: {
  log: Logger;
  file: string;
  retryEveryMs?: number;
  now?: () => number;
  /** The problem started or ended (the daemon tells connected clients). */
  onChange?: (problem: StorageProblem | null) => void;
}): StorageHealth {
  const { log } = opts;
  const now = opts.now ?? Date.now;
  const retryEveryMs = opts.retryEveryMs ?? 2_000;
  const pending = new Map<string, () => void>();
  const quietMs = retryEveryMs * 5;
  let problem: Omit<StorageProblem, 'pendingWrites'> | null = null;
  let lastFailureAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let confirm: NodeJS.Timeout | undefined;

  const failed = (err: unknown): boolean => {
    if (!isStorageUnavailable(err)) return false;
    lastFailureAt = now();
    if (problem) {
      problem.failedWrites++;
      return true;
    }
    problem = { error: err instanceof Error ? err.message : describeError(err), since: lastFailureAt, failedWrites: 1 };
    log.error(
      'storage',
      `cannot write to ${opts.file}: ${problem.error}; serving goes on, and state changes wait in memory until they can be written (retried every ${retryEveryMs / 1000}s)`,
    );
    opts.onChange?.({ ...problem, pendingWrites: pending.size });
    return true;
  };

  const succeeded = () => {
    if (!problem || pending.size > 0) return;
    const quietFor = now() - lastFailureAt;
    if (quietFor < quietMs) {
      confirm ??= setTimeout(() => {
        confirm = undefined;
        succeeded();
      }, quietMs - quietFor);
      confirm.unref();
      return;
    }
    const seconds = Math.round((now() - problem.since) / 1000);
    log.info(
      'storage',
      `${opts.file} accepts writes again after ${seconds}s (${problem.failedWrites.toLocaleString('en-US')} writes were refused meanwhile and retried)`,
    );
    problem = null;
    opts.onChange?.(null);
  };

  const retry = (again: boolean) => {
    timer = undefined;
    for (const [key, write] of [...pending]) {
      try {
        write();
        if (pending.get(key) === write) pending.delete(key);
      } catch (err) {
        if (!failed(err)) {
          pending.delete(key);
          log.error('storage', `a kept write (${key}) failed and is dropped: ${describeError(err)}`);
        }
      }
    }
    if (pending.size === 0) succeeded();
    else if (again) arm();
    else
      log.error(
        'storage',
        `${pending.size} state changes could not be written before shutdown (the next start observes the servers again)`,
      );
  };
  const arm = () => {
    timer ??= setTimeout(() => retry(true), retryEveryMs);
    timer.unref();
  };

  return {
    retryEveryMs,
    write(key, write) {
      try {
        write();
      } catch (err) {
        if (!failed(err)) throw err;
        pending.set(key, write);
        arm();
        return false;
      }
      pending.delete(key); // an older refused write of the same record is superseded
      succeeded();
      return true;
    },
    writeTogether(writes, together) {
      try {
        together(() => {
          for (const write of writes.values()) write();
        });
      } catch (err) {
        if (!failed(err)) throw err;
        for (const [key, write] of writes) pending.set(key, write);
        arm();
        return false;
      }
      for (const key of writes.keys()) pending.delete(key);
      succeeded();
      return true;
    },
    failed,
    succeeded,
    problem: () => (problem ? { ...problem, pendingWrites: pending.size } : null),
    close() {
      clearTimeout(timer);
      clearTimeout(confirm);
      if (pending.size > 0) retry(false);
    },
  };
}
