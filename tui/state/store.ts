/** A tiny external store for the fleet model, so the live connection can feed it outside React. */
import { fleetReducer, initialFleet, type FleetAction, type FleetState } from './fleet.js';

export interface FleetStore {
  getState(): FleetState;
  dispatch(action: FleetAction): void;
  subscribe(listener: () => void): () => void;
}

export function createFleetStore(initial: FleetState = initialFleet): FleetStore {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch(action) {
      const next = fleetReducer(state, action);
      if (next === state) return;
      state = next;
      for (const l of listeners) l();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
