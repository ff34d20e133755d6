/**
 * "These pipelines changed": each part that changes what a pipeline's view shows (the repo, runs,
 * rollouts, replays, model servers, deliveries) says so here, and the fleet feed listens. The parts
 * start before the feed can build a view from all of them; a change said before it listens has
 * nobody to tell, since clients connect after it does and start from a snapshot.
 */
export interface PipelineChanges {
  changed(names: Iterable<string>): void;
  /** Returns a function that unsubscribes. */
  subscribe(listener: (names: Iterable<string>) => void): () => void;
}

export function createPipelineChanges(): PipelineChanges {
  const listeners = new Set<(names: Iterable<string>) => void>();
  return {
    changed(names) {
      for (const l of listeners) l(names);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
