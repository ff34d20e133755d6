/**
 * The daemon's shutdown order. Each part is registered under the stage it belongs to as it starts;
 * stopping runs the stages in the order of SHUTDOWN_STAGES, whatever order the parts were started
 * in: start-up follows what each part needs, shutdown follows what must not be lost. A start-up
 * that fails half-way stops, in the same order, what it had started.
 */
import type { Logger } from './log.js';

export const SHUTDOWN_STAGES = [
  // Nothing new comes in: clients, model traffic, merged changes and cron ticks stop first, so no
  // work starts while the work in flight is being stopped.
  'intake',
  // Nobody can read the views once the API is closed: stop computing them.
  'views',
  // The requests the router answered before it closed reach the capture files.
  'capture',
  // Gates and rollout steps stop before the runs, so a run that ends now starts no rollout.
  'rollouts',
  'runs',
  // The model servers go once nothing drives their traffic.
  'platform',
  // The stopped work's last notifications are in the outbox; the worker delivers them next start.
  'deliveries',
  // A reload in flight writes the store, which closes after it.
  'repo',
  // Every child process is stopped by now; their records go.
  'children',
  // Maintenance, stored log lines and the storage-health retries, which all write the store.
  'housekeeping',
  // The store, then the data dir's lock: another mlpd may start only once the store is closed.
  'store',
] as const;

export type ShutdownStage = (typeof SHUTDOWN_STAGES)[number];

export interface Shutdown {
  /** How to stop a part that has started; within a stage the part registered last stops first. */
  add(stage: ShutdownStage, close: () => Promise<void> | void): void;
  /** Stops every registered part, stage by stage; a part that fails to stop is logged and the rest still stop. */
  stop(): Promise<void>;
}

export function createShutdown(log: Logger): Shutdown {
  const closers = new Map<ShutdownStage, (() => Promise<void> | void)[]>(SHUTDOWN_STAGES.map((stage) => [stage, []]));
  return {
    add(stage, close) {
      closers.get(stage)!.push(close);
    },
    async stop() {
      for (const stage of SHUTDOWN_STAGES) {
        const inStage = closers.get(stage)!;
        closers.set(stage, []); // a second stop closes nothing twice
        for (const close of inStage.reverse()) {
          try {
            await close();
          } catch (err) {
            log.error('daemon', `error while stopping: ${(err as Error).message}`);
          }
        }
      }
    },
  };
}
