/**
 * Live metrics from router workers to the daemon (docs/serving.md, "Router workers"): a worker counts
 * nothing itself; it gathers every observation into a batch of numbers and sends it to the daemon a
 * few milliseconds later, where each observation is replayed into the one `LiveMetrics`. So the
 * rollback watch sees every request of every worker, counted exactly as in-process, a batch interval
 * later at most.
 */
import type { MetricsSink } from '../types.js';

/** What a worker sends: variants it named for the first time, then four numbers per observation. */
export interface MetricsBatch {
  /** New variant ids, each as [id, pipeline, group, variant]. */
  names: [number, string, string, string][];
  /** id, status, latencyMs, at — repeated. */
  values: Float64Array;
}

const FIELDS = 4;
/** A batch goes out once this many observations are waiting, before its interval has passed. */
const MAX_BATCH = 4096;

export interface MetricsRelay extends MetricsSink {
  /** Sends what is waiting now. */
  flush(): void;
  close(): void;
}

/** The worker's side: a MetricsSink that sends batches every `intervalMs`. */
export function createMetricsRelay(send: (batch: MetricsBatch) => void, intervalMs: number): MetricsRelay {
  const ids = new Map<string, Map<string, Map<string, number>>>();
  let names: MetricsBatch['names'] = [];
  /** Ids handed out in batches already sent. */
  let sentNames = 0;
  const values = new Float64Array(MAX_BATCH * FIELDS);
  let count = 0;
  let timer: NodeJS.Timeout | null = null;

  const idOf = (pipeline: string, group: string, variant: string): number => {
    let groups = ids.get(pipeline);
    if (groups === undefined) ids.set(pipeline, (groups = new Map()));
    let variants = groups.get(group);
    if (variants === undefined) groups.set(group, (variants = new Map()));
    let id = variants.get(variant);
    if (id === undefined) {
      id = sentNames + names.length;
      variants.set(variant, id);
      names.push([id, pipeline, group, variant]);
    }
    return id;
  };

  const flush = () => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (count === 0 && names.length === 0) return;
    // A copy of the part in use: a view would send its whole buffer (the serializer copies buffers whole).
    const batch = { names, values: values.slice(0, count * FIELDS) };
    sentNames += names.length;
    names = [];
    count = 0;
    send(batch);
  };

  return {
    observe(pipeline, group, variant, status, latencyMs, at) {
      const i = count++ * FIELDS;
      values[i] = idOf(pipeline, group, variant);
      values[i + 1] = status;
      values[i + 2] = latencyMs;
      values[i + 3] = at;
      if (count === MAX_BATCH) flush();
      else if (timer === null) timer = setTimeout(flush, intervalMs);
    },
    flush,
    close: flush,
  };
}

/** The daemon's side for one worker: replays its batches into `metrics`. */
export function createMetricsMerge(metrics: MetricsSink): (batch: MetricsBatch) => void {
  const byId: [string, string, string][] = [];
  return (batch) => {
    for (const [id, pipeline, group, variant] of batch.names) byId[id] = [pipeline, group, variant];
    const v = batch.values;
    for (let i = 0; i < v.length; i += FIELDS) {
      const key = byId[v[i]!];
      if (key !== undefined) metrics.observe(key[0], key[1], key[2], v[i + 1]!, v[i + 2]!, v[i + 3]!);
    }
  };
}
