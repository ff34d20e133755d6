/**
 * Batched log persistence: lines arrive one by one (a chatty training loop prints thousands), and
 * are written to the store in one transaction per batch, off the path that produced them.
 */
import type { LogLineInput } from './store/logs.js';
import type { Store } from './store/db.js';

const FLUSH_MS = 100;
const MAX_BATCH = 1000;

export interface LogWriter {
  write(line: LogLineInput): void;
  /** Writes what is pending now (on shutdown, and before a run reports its end). */
  flush(): void;
}

export function createLogWriter(store: Store, onError: (err: Error) => void = () => {}): LogWriter {
  let pending: LogLineInput[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    try {
      store.logs.append(batch);
    } catch (err) {
      onError(err as Error);
    }
  };

  return {
    write(line) {
      pending.push(line);
      if (pending.length >= MAX_BATCH) flush();
      else timer ??= setTimeout(flush, FLUSH_MS);
    },
    flush,
  };
}
