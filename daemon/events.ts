/** The daemon's in-process event bus: what happened, for the API to fan out to clients. */
import type { DaemonEvent } from '../shared/protocol.js';

export interface EventBus {
  publish(event: DaemonEvent): void;
  subscribe(listener: (event: DaemonEvent) => void): () => void;
}

export function createEventBus(): EventBus {
  const listeners = new Set<(event: DaemonEvent) => void>();
  return {
    publish(event) {
      for (const l of listeners) l(event);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
