/**
 * Housekeeping the daemon does on its own: log lines older than the retention period are deleted
 * (at start and every hour), so the database does not grow without bound.
 */
import type { Logger } from './log.js';
import type { Store } from './store/db.js';

export const LOG_RETENTION_MS = 30 * 86_400_000;
const EVERY_MS = 3_600_000;

export function startMaintenance(opts: { store: Store; log: Logger; retentionMs?: number }): () => void {
  const retention = opts.retentionMs ?? LOG_RETENTION_MS;
  const prune = () => {
    try {
      const deleted = opts.store.logs.prune({ olderThanMs: retention });
      if (deleted) opts.log.info('logs', `deleted ${deleted} log lines older than ${Math.round(retention / 86_400_000)} days`);
    } catch (err) {
      opts.log.error('logs', `log pruning failed: ${(err as Error).message}`);
    }
  };
  prune();
  const timer = setInterval(prune, EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
