/**
 * Live metrics per (pipeline, group, variant), fed by the router on every request (docs/serving.md, "Live
 * metrics"): totals since start; a sliding time window (default the last 60 s, in 1-second buckets, latency
 * quantiles from log-linear bins); and a count window (the last N requests, exact quantiles).
 *
 * `observe()` does a few map lookups and array writes and allocates nothing once a variant has been seen;
 * quantiles are computed when a snapshot is asked for, not per request. A request counts at the time it
 * completed (`at + latencyMs`), so the window holds outcomes that are known by now.
 */
import { binLatencyMs, LATENCY_BINS, latencyBin } from './latency-bins.js';
import type { MetricsSink } from '../types.js';
import { systemClock, type WallClock } from '../../scheduler/clock.js';

export interface WindowMetrics {
  requests: number;
  /** Requests that got a status >= 500. */
  errors: number;
  /** errors / requests; 0 when there were no requests (read `requests` before trusting it). */
  errorRate: number;
  requestsPerSecond: number;
  /** Latency quantiles in ms (nearest rank); null when there were no requests. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  meanMs: number | null;
  maxMs: number | null;
}

export interface VariantMetrics {
  pipeline: string;
  group: string;
  variant: string;
  /** Since the variant's first request (or since `forget`). */
  total: { requests: number; errors: number };
  /** Requests that completed in the last `windowMs`. Quantiles within 3.2% (1 µs below 32 µs). */
  window: WindowMetrics & { windowMs: number };
  /** The last `windowCount` requests. Exact quantiles. */
  recent: WindowMetrics & { windowCount: number };
  /** When the last request completed (epoch ms). */
  lastAt: number;
}

/** Requests of several variants counted together (`LiveMetrics.pooled`). */
export interface PooledMetrics {
  requests: number;
  errors: number;
  /** errors / requests; 0 when there were no requests. */
  errorRate: number;
  /** Quantiles of the union of the variants' requests, computed as for one variant's time window. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface PoolOptions {
  /** Which of the pipeline's variants count. Default: all. */
  include?: (group: string, variant: string) => boolean;
  /**
   * Requests that completed between `from` and `to` instead of the whole time window; both are rounded
   * down to the window's 1-second buckets, so back-to-back ranges count every request exactly once, and
   * a bucket still filling is left to the next range. Ranges reach back no further than the window.
   */
  range?: { from: number; to: number };
}

export interface LiveMetrics extends MetricsSink {
  /** Length of the time window. */
  readonly windowMs: number;
  /** Every variant's metrics; with `servedSince`, only those that served a request at or after it. */
  snapshot(servedSince?: number): VariantMetrics[];
  variant(pipeline: string, group: string, variant: string): VariantMetrics | undefined;
  /** A pipeline's variants' requests pooled: all groups and variants of the pipeline by default. */
  pooled(pipeline: string, opts?: PoolOptions): PooledMetrics;
  /** Drops the metrics of a pipeline, one of its groups, or one variant (a retired or restarted model). */
  forget(pipeline: string, group?: string, variant?: string): void;
}

export interface LiveMetricsOptions {
  /** Decides which buckets a request falls in and which have left the window. Default: the system clock. */
  clock?: WallClock;
  /** The time window. Default 60 s. */
  windowMs?: number;
  /** The count window. Default 1,000 requests. */
  windowCount?: number;
  /** Granularity of the time window. Default 1 s. */
  bucketMs?: number;
}

class VariantState {
  totalRequests = 0;
  totalErrors = 0;
  lastAt = 0;
  /** Start of the first bucket this variant had a request in (the window is younger than that). */
  firstBucket = -1;
  /** The newest bucket index the window has advanced to. */
  head = -Infinity;
  readonly slotBucket: Float64Array;
  readonly slotRequests: Uint32Array;
  readonly slotErrors: Uint32Array;
  readonly slotLatencySum: Float64Array;
  readonly slotMax: Float64Array;
  /** Per-bucket latency bins, allocated on the first request and freed when the window empties. */
  slotBins: Uint32Array | null = null;
  readonly windowBins = new Uint32Array(LATENCY_BINS);
  windowRequests = 0;
  windowErrors = 0;
  windowLatencySum = 0;
  /** The count window: latencies, error flags and completion times of the last N requests, as rings. */
  readonly ringLatency: Float64Array;
  readonly ringError: Uint8Array;
  readonly ringAt: Float64Array;
  ringNext = 0;
  ringSize = 0;
  ringErrors = 0;
  /** Bumped on every observation, so a snapshot of an idle variant reuses its last sort. */
  version = 0;
  sortedVersion = -1;
  sorted: Float64Array;

  constructor(
    readonly pipeline: string,
    readonly group: string,
    readonly variant: string,
    readonly slots: number,
    count: number,
  ) {
    this.slotBucket = new Float64Array(slots).fill(-1);
    this.slotRequests = new Uint32Array(slots);
    this.slotErrors = new Uint32Array(slots);
    this.slotLatencySum = new Float64Array(slots);
    this.slotMax = new Float64Array(slots);
    this.ringLatency = new Float64Array(count);
    this.ringError = new Uint8Array(count);
    this.ringAt = new Float64Array(count);
    this.sorted = new Float64Array(count);
  }

  /** Moves the window's head to `bucket`, expiring the buckets that fall out of it. */
  advance(bucket: number): void {
    if (bucket <= this.head) return;
    const from = Math.max(this.head + 1, bucket - this.slots + 1);
    for (let b = from; b <= bucket; b++) this.expire(b % this.slots);
    this.head = bucket;
    if (this.windowRequests === 0) {
      this.windowLatencySum = 0; // no float residue from the subtractions
      this.slotBins = null;
    }
  }

  private expire(slot: number): void {
    if (this.slotBucket[slot] === -1) return;
    this.windowRequests -= this.slotRequests[slot]!;
    this.windowErrors -= this.slotErrors[slot]!;
    this.windowLatencySum -= this.slotLatencySum[slot]!;
    const bins = this.slotBins;
    if (bins) {
      const base = slot * LATENCY_BINS;
      for (let i = 0; i < LATENCY_BINS; i++) {
        const n = bins[base + i]!;
        if (n !== 0) {
          this.windowBins[i] = this.windowBins[i]! - n;
          bins[base + i] = 0;
        }
      }
    }
    this.slotBucket[slot] = -1;
    this.slotRequests[slot] = 0;
    this.slotErrors[slot] = 0;
    this.slotLatencySum[slot] = 0;
    this.slotMax[slot] = 0;
  }

  add(bucket: number, latencyMs: number, error: boolean): void {
    if (bucket > this.head) this.advance(bucket);
    if (bucket <= this.head - this.slots) return; // completed before the window began
    const slot = bucket % this.slots;
    this.slotBucket[slot] = bucket;
    this.slotRequests[slot] = this.slotRequests[slot]! + 1;
    this.windowRequests++;
    if (error) {
      this.slotErrors[slot] = this.slotErrors[slot]! + 1;
      this.windowErrors++;
    }
    this.slotLatencySum[slot] = this.slotLatencySum[slot]! + latencyMs;
    this.windowLatencySum += latencyMs;
    if (latencyMs > this.slotMax[slot]!) this.slotMax[slot] = latencyMs;
    const bin = latencyBin(latencyMs);
    const bins = (this.slotBins ??= new Uint32Array(this.slots * LATENCY_BINS));
    const at = slot * LATENCY_BINS + bin;
    bins[at] = bins[at]! + 1;
    this.windowBins[bin] = this.windowBins[bin]! + 1;
  }
}

export function createLiveMetrics(opts: LiveMetricsOptions = {}): LiveMetrics {
  const clock = opts.clock ?? systemClock;
  const windowMs = opts.windowMs ?? 60_000;
  const windowCount = Math.max(1, Math.floor(opts.windowCount ?? 1000));
  const bucketMs = opts.bucketMs ?? 1000;
  const slots = Math.max(1, Math.ceil(windowMs / bucketMs));
  const byPipeline = new Map<string, Map<string, Map<string, VariantState>>>();
  // The router sends runs of requests for the same variant: skip the lookups then.
  let last: VariantState | null = null;

  function stateOf(pipeline: string, group: string, variant: string): VariantState {
    if (last !== null && last.pipeline === pipeline && last.group === group && last.variant === variant) return last;
    let byGroup = byPipeline.get(pipeline);
    if (!byGroup) byPipeline.set(pipeline, (byGroup = new Map()));
    let byVariant = byGroup.get(group);
    if (!byVariant) byGroup.set(group, (byVariant = new Map()));
    let st = byVariant.get(variant);
    if (!st) byVariant.set(variant, (st = new VariantState(pipeline, group, variant, slots, windowCount)));
    return (last = st);
  }

  function observe(pipeline: string, group: string, variant: string, status: number, latencyMs: number, at: number): void {
    const st = stateOf(pipeline, group, variant);
    const error = status >= 500;
    const done = at + latencyMs;
    const latency = latencyMs > 0 ? latencyMs : 0;
    st.totalRequests++;
    if (error) st.totalErrors++;
    if (done > st.lastAt) st.lastAt = done;
    const bucket = Math.floor(done / bucketMs);
    if (st.firstBucket < 0) st.firstBucket = bucket;
    st.add(bucket, latency, error);
    const i = st.ringNext;
    if (st.ringSize === windowCount) st.ringErrors -= st.ringError[i]!;
    else st.ringSize++;
    st.ringLatency[i] = latency;
    st.ringError[i] = error ? 1 : 0;
    st.ringAt[i] = done;
    if (error) st.ringErrors++;
    st.ringNext = i + 1 === windowCount ? 0 : i + 1;
    st.version++;
  }

  function view(st: VariantState, t: number): VariantMetrics {
    const nowBucket = Math.floor(t / bucketMs);
    st.advance(nowBucket);
    const windowStart = Math.max((nowBucket - slots + 1) * bucketMs, st.firstBucket * bucketMs);
    const windowSeconds = Math.max(bucketMs, t - windowStart) / 1000;
    let max = 0;
    for (let s = 0; s < slots; s++) if (st.slotBucket[s] !== -1 && st.slotMax[s]! > max) max = st.slotMax[s]!;
    const n = st.windowRequests;
    const [p50, p95, p99] = n > 0 ? binQuantiles(st.windowBins, n, max) : [null, null, null];

    const m = st.ringSize;
    if (st.sortedVersion !== st.version) {
      st.sorted.set(st.ringLatency.subarray(0, m));
      st.sorted.subarray(0, m).sort();
      st.sortedVersion = st.version;
    }
    let oldest = Infinity;
    let sum = 0;
    for (let i = 0; i < m; i++) {
      if (st.ringAt[i]! < oldest) oldest = st.ringAt[i]!;
      sum += st.ringLatency[i]!;
    }
    const rank = (p: number) => st.sorted[Math.max(0, Math.ceil(p * m) - 1)]!;
    const recentSeconds = Math.max(bucketMs, t - oldest) / 1000;
    return {
      pipeline: st.pipeline,
      group: st.group,
      variant: st.variant,
      total: { requests: st.totalRequests, errors: st.totalErrors },
      window: {
        windowMs,
        requests: n,
        errors: st.windowErrors,
        errorRate: n > 0 ? st.windowErrors / n : 0,
        requestsPerSecond: n / windowSeconds,
        p50Ms: p50,
        p95Ms: p95,
        p99Ms: p99,
        meanMs: n > 0 ? st.windowLatencySum / n : null,
        maxMs: n > 0 ? max : null,
      },
      recent: {
        windowCount,
        requests: m,
        errors: st.ringErrors,
        errorRate: m > 0 ? st.ringErrors / m : 0,
        requestsPerSecond: m > 0 ? m / recentSeconds : 0,
        p50Ms: m > 0 ? rank(0.5) : null,
        p95Ms: m > 0 ? rank(0.95) : null,
        p99Ms: m > 0 ? rank(0.99) : null,
        meanMs: m > 0 ? sum / m : null,
        maxMs: m > 0 ? st.sorted[m - 1]! : null,
      },
      lastAt: st.lastAt,
    };
  }

  // Pooling is asked for a few times a second at most, off the request path: one scratch array is enough.
  const pooledBins = new Uint32Array(LATENCY_BINS);

  function pooled(pipeline: string, opts: PoolOptions = {}): PooledMetrics {
    const { include, range } = opts;
    const nowBucket = Math.floor(clock.now() / bucketMs);
    const from = range ? Math.floor(range.from / bucketMs) : 0;
    const to = range ? Math.floor(range.to / bucketMs) : 0;
    pooledBins.fill(0);
    let requests = 0;
    let errors = 0;
    let max = 0;
    for (const [group, byVariant] of byPipeline.get(pipeline) ?? []) {
      for (const [variant, st] of byVariant) {
        if (include && !include(group, variant)) continue;
        if (!range) {
          st.advance(nowBucket);
          requests += st.windowRequests;
          errors += st.windowErrors;
          for (let i = 0; i < LATENCY_BINS; i++) pooledBins[i] = pooledBins[i]! + st.windowBins[i]!;
        }
        for (let s = 0; s < slots; s++) {
          const b = st.slotBucket[s]!;
          if (b === -1 || (range && (b < from || b >= to))) continue;
          if (st.slotMax[s]! > max) max = st.slotMax[s]!;
          if (!range) continue;
          // A slot holds the bucket it names until it is reused, so an idle variant's old buckets still count.
          requests += st.slotRequests[s]!;
          errors += st.slotErrors[s]!;
          const bins = st.slotBins;
          if (!bins) continue;
          const base = s * LATENCY_BINS;
          for (let i = 0; i < LATENCY_BINS; i++) pooledBins[i] = pooledBins[i]! + bins[base + i]!;
        }
      }
    }
    const [p50, p95, p99] = requests > 0 ? binQuantiles(pooledBins, requests, max) : [null, null, null];
    return {
      requests,
      errors,
      errorRate: requests > 0 ? errors / requests : 0,
      p50Ms: p50,
      p95Ms: p95,
      p99Ms: p99,
      maxMs: requests > 0 ? max : null,
    };
  }

  return {
    windowMs,
    observe,
    pooled,
    snapshot(servedSince = -Infinity) {
      const t = clock.now();
      const out: VariantMetrics[] = [];
      // Views (quantiles, a sort) only for the variants asked for: a fleet's idle variants cost a comparison each.
      for (const byGroup of byPipeline.values())
        for (const byVariant of byGroup.values()) for (const st of byVariant.values()) if (st.lastAt >= servedSince) out.push(view(st, t));
      return out;
    },
    variant(pipeline, group, variant) {
      const st = byPipeline.get(pipeline)?.get(group)?.get(variant);
      return st ? view(st, clock.now()) : undefined;
    },
    forget(pipeline, group, variant) {
      last = null;
      const byGroup = byPipeline.get(pipeline);
      if (!byGroup) return;
      if (group === undefined) {
        byPipeline.delete(pipeline);
        return;
      }
      const byVariant = byGroup.get(group);
      if (!byVariant) return;
      if (variant === undefined) byGroup.delete(group);
      else byVariant.delete(variant);
      if (byVariant.size === 0) byGroup.delete(group);
      if (byGroup.size === 0) byPipeline.delete(pipeline);
    },
  };
}

/** p50, p95, p99 (nearest rank) from the window's bins, each at its bin's middle and no more than the window's max. */
function binQuantiles(bins: Uint32Array, n: number, max: number): [number, number, number] {
  const ranks = [Math.ceil(0.5 * n), Math.ceil(0.95 * n), Math.ceil(0.99 * n)];
  const out: [number, number, number] = [max, max, max];
  let seen = 0;
  let q = 0;
  for (let b = 0; b < LATENCY_BINS && q < 3; b++) {
    seen += bins[b]!;
    while (q < 3 && seen >= ranks[q]!) out[q++] = Math.min(binLatencyMs(b), max);
  }
  return out;
}
