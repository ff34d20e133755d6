/**
 * What the daemon runs against its limits (model servers, runs), for `mlp status` and the TUI. Clients
 * get it in the snapshot, then as a `capacity` event when it changed, at most once per interval: a
 * thousand servers coming back make one event a second, not two thousand.
 */
import type { CapacityView } from '../shared/protocol.js';
import type { EventBus } from './events.js';

const PUBLISH_EVERY_MS = 1_000;

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
