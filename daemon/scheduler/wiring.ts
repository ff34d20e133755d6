/**
 * Schedules in the daemon: keeps the cron jobs in step with the pipelines in force, and catches up
 * once at start-up on the fire time missed while the daemon was down (docs/scheduling.md).
 */
import type { Logger } from '../log.js';
import type { PipelineRegistry } from '../repo/registry.js';
import type { Store } from '../store/db.js';
import { nodeCronDriver, type CronDriver } from './clock.js';
import { createScheduler } from './scheduler.js';

export function startScheduling(opts: {
  store: Store;
  log: Logger;
  registry: PipelineRegistry;
  onEnqueued: () => void;
  cron?: CronDriver;
}) {
  const scheduler = createScheduler({
    store: opts.store,
    cron: opts.cron ?? nodeCronDriver({ log: opts.log }),
    now: Date.now,
    log: opts.log,
    onEnqueued: opts.onEnqueued,
  });
  const sync = () =>
    scheduler.sync(
      opts.registry.list().map((p) => ({
        name: p.name,
        // Airflow runs the schedule of a pipeline exported to it (docs/airflow.md): firing here too would train twice.
        schedule: p.config.pipeline.orchestrator === 'mlpd' ? (p.config.pipeline.schedule ?? null) : null,
        ...(p.config.pipeline.timezone ? { timeZone: p.config.pipeline.timezone } : {}),
        // A config edit restarts the clock: fire times missed before the edit are not caught up.
        knownSince: p.loadedAt,
      })),
    );
  sync();
  scheduler.catchUp();
  return { sync, stop: () => scheduler.stop() };
}
