/**
 * Batched log persistence: lines arrive one by one (a chatty training loop prints thousands), and
 * are written to the store in one transaction per batch, off the path that produced them.
 *
 * When the store refuses a batch (disk full), the lines are kept and written later with the next
 * ones; past `maxKept` lines the oldest are dropped and counted, so memory stays bounded.
 */
import type { Logger } from './log.js';
import type { StorageHealth } from './storage-health.js';
import type { LogLineInput } from './store/logs.js';
import type { Store } from './store/db.js';
import { isStorageUnavailable } from './store/sqlite-errors.js';

const FLUSH_MS = 100;
const MAX_BATCH = 1000;
const RETRY_MS = 2_000;

export interface LogWriter {
  write(line: LogLineInput): void;
  /** Writes what is pending now (on shutdown, and before a run reports its end). */
  flush(): void;
}

export interface LogWriterHooks {
  /** A batch was refused; when storage refused it (disk full), its lines are kept for the next try. */
  onError?(err: Error): void;
  /** A batch was written after refusals; `dropped` lines did not fit in memory meanwhile. */
  onRecovered?(dropped: number): void;
  /** Lines kept while the store refuses writes. Default 10,000. */
  maxKept?: number;
}

/**
 * The daemon's hooks: a refused batch is a storage problem like any other refused write (said once,
 * in `mlp status`); a batch written again ends it, and lines that did not fit meanwhile are counted.
 */
export function reportToStorageHealth(storage: StorageHealth, log: Logger): LogWriterHooks {
  return {
    onError: (err) => {
      if (!storage.failed(err)) log.error('logs', `cannot store log lines: ${err.message}`);
    },
    onRecovered: (dropped) => {
      storage.succeeded();
      if (dropped) log.warn('logs', `${dropped.toLocaleString('en-US')} log lines were lost while the database refused writes`);
    },
  };
}

export function createLogWriter(store: Store, hooks: LogWriterHooks = {}): LogWriter {
  const maxKept = hooks.maxKept ?? 10_000;
  let pending: LogLineInput[] = [];
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  let dropped = 0;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    try {
      store.logs.append(batch);
    } catch (err) {
      if (!isStorageUnavailable(err)) {
        hooks.onError?.(err as Error); // a batch the store can never take: lost, said
        return;
      }
      pending = batch.concat(pending);
      if (pending.length > maxKept) {
        dropped += pending.length - maxKept;
        pending = pending.slice(-maxKept);
      }
      failing = true;
      timer = setTimeout(flush, RETRY_MS);
      timer.unref();
      hooks.onError?.(err as Error);
      return;
    }
    if (failing) {
      failing = false;
      hooks.onRecovered?.(dropped);
      dropped = 0;
    }
  };

  return {
    write(line) {
      pending.push(line);
      if (failing) {
        if (pending.length > maxKept) {
          dropped++;
          pending.shift();
        }
        return; // the retry timer writes it
      }
      if (pending.length >= MAX_BATCH) flush();
      else timer ??= setTimeout(flush, FLUSH_MS);
    },
    flush,
  };
}
