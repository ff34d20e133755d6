/**
 * Hands the daemon's log lines about pipelines to the store (for `mlp tail` and history) and every
 * line to connected clients.
 */
import type { EventBus } from './events.js';
import type { Logger } from './log.js';
import type { LogWriter } from './log-writer.js';

export function createLogPersister(opts: { log: Logger; writer: LogWriter; bus: EventBus }): () => void {
  const unsubscribe = opts.log.subscribe((entry) => {
    const line = `${entry.level}: ${entry.message}`;
    opts.bus.publish({
      kind: 'log',
      at: entry.at,
      pipeline: entry.pipeline ?? null,
      runId: null,
      step: null,
      group: null,
      stream: 'daemon',
      line,
    });
    if (entry.pipeline) opts.writer.write({ at: entry.at, pipeline: entry.pipeline, stream: 'daemon', line });
  });
  return () => {
    unsubscribe();
    opts.writer.flush();
  };
}
