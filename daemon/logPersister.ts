/**
 * Hands the daemon's log lines about pipelines to the store (for `mlp tail` and history) and every
 * line to connected clients. Writes are batched so a burst of lines is one transaction.
 */
import type { EventBus } from './events.js';
import type { LogEntry, Logger } from './log.js';
import type { Store } from './store/db.js';

const FLUSH_MS = 100;

export function createLogPersister(opts: { log: Logger; store: Store; bus: EventBus }): () => void {
  let pending: LogEntry[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    timer = undefined;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    opts.store.logs.append(
      batch.map((e) => ({ at: e.at, pipeline: e.pipeline!, runId: null, step: null, group: null, stream: 'daemon', line: `${e.level}: ${e.message}` })),
    );
  };

  const unsubscribe = opts.log.subscribe((entry) => {
    opts.bus.publish({ kind: 'log', at: entry.at, pipeline: entry.pipeline ?? null, stream: 'daemon', line: `${entry.level}: ${entry.message}` });
    if (!entry.pipeline) return;
    pending.push(entry);
    timer ??= setTimeout(flush, FLUSH_MS);
  });

  return () => {
    unsubscribe();
    if (timer) clearTimeout(timer);
    flush();
  };
}
