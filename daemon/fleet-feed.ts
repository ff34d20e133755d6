/**
 * Turns "these pipelines changed" into `fleet` events: one per tick at most, carrying the summaries
 * of the pipelines that changed since the last one. A change after a quiet tick goes out at once (an
 * operator's command shows without waiting); a burst is coalesced, so a busy fleet costs what
 * changed, not a snapshot per change.
 */
import type { DaemonEvent, PipelineSummary } from '../shared/protocol.js';

/** Shortest time between two `fleet` events. */
export const FLEET_TICK_MS = 100;

export interface FleetFeed {
  changed(names: Iterable<string>): void;
  close(): void;
}

export function startFleetFeed(opts: {
  /** The summaries of these pipelines now, read together; a pipeline gone is left out (its removal is an event of its own). */
  summaries(names: string[]): PipelineSummary[];
  publish(event: DaemonEvent): void;
  now(): number;
  tickMs?: number;
}): FleetFeed {
  const tickMs = opts.tickMs ?? FLEET_TICK_MS;
  const dirty = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let lastFlush = -Infinity;
  let closed = false;

  function flush() {
    timer = null;
    lastFlush = opts.now();
    const pipelines = opts.summaries([...dirty]);
    dirty.clear();
    if (pipelines.length) opts.publish({ kind: 'fleet', at: lastFlush, pipelines });
  }

  return {
    changed(names) {
      if (closed) return;
      for (const n of names) dirty.add(n);
      if (timer || dirty.size === 0) return;
      // setTimeout(0) still gathers the changes of the same turn of the event loop into one event.
      timer = setTimeout(flush, Math.max(0, lastFlush + tickMs - opts.now()));
      timer.unref();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      dirty.clear();
    },
  };
}
