/**
 * What the daemon runs against its limits (model servers, runs), for `mlp status` and the TUI. Clients
 * get it in the snapshot, then as a `capacity` event when it changed, at most once per interval: a
 * thousand servers coming back make one event a second, not two thousand.
 */
import type { CapacityView } from '../shared/protocol.js';
import type { EventBus } from './events.js';
import type { RunLimits } from './runs/fairness.js';
import type { RunQueue } from './runs/queue.js';

const PUBLISH_EVERY_MS = 1_000;

/** The model servers as serving counts them, and the runs going and queued against their limits. */
export function capacityOf(servers: CapacityView['servers'], load: ReturnType<RunQueue['load']>, limits: RunLimits): CapacityView {
  return {
    servers,
    runs: { running: load.running.here, max: limits.here, runningCloud: load.running.cloud, maxCloud: limits.cloud, queued: load.queued },
  };
}

export function startCapacityEvents(opts: { read(): CapacityView; bus: EventBus; everyMs?: number }): () => void {
  let last = JSON.stringify(opts.read());
  const timer = setInterval(() => {
    const capacity = opts.read();
    const now = JSON.stringify(capacity);
    if (now === last) return;
    last = now;
    opts.bus.publish({ kind: 'capacity', capacity });
  }, opts.everyMs ?? PUBLISH_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
