/**
 * A variant's traffic as a platform reports it (VariantTraffic), in the shape status shows the router's live
 * metrics: for SageMaker variants, whose figures come from CloudWatch. The platform's first window stands for
 * both of status's windows (SageMaker has no count window), and latency quantiles are not measured.
 */
import type { VariantMetricsSet } from '../../shared/protocol.js';
import type { VariantTraffic } from './platform.js';

export function trafficView(t: VariantTraffic | null): VariantMetricsSet | null {
  const w = t?.windows[0];
  if (!t || !w) return null;
  const view = {
    requests: w.requests,
    errors: w.errors,
    errorRate: w.errorRate,
    requestsPerSecond: w.spanMs ? w.requests / (w.spanMs / 1000) : 0,
    p50Ms: null,
    p95Ms: null,
    p99Ms: w.p99Ms,
  };
  return { total: { ...t.total }, window: view, recent: view };
}
