/**
 * The serving platform of the `local` and `docker` backends: mlpd's own model servers (processes or containers,
 * daemon/serving/service.ts) behind its router, Data Capture files under the data dir, and the router's live
 * metrics. Integration tests and replay call a model server on its own port, past the router, so their requests
 * are neither captured nor counted.
 */
import { modelAt } from '../replay/model-client.js';
import { readCapture } from '../serving/capture/reader.js';
import type { LiveMetrics, WindowMetrics } from '../serving/metrics/live-metrics.js';
import type { Serving } from '../serving/service.js';
import type { TrafficWindow } from './platform.js';
import type { RouterPlatform } from './selection.js';

export interface LocalPlatformDeps {
  serving: Serving;
  /** What the router counted per variant. */
  metrics: LiveMetrics;
  /** `<data dir>/capture`, where the router's Data Capture goes. */
  captureDir: string;
}

export function createLocalPlatform({ serving, metrics, captureDir }: LocalPlatformDeps): RouterPlatform {
  return {
    restore: () => serving.restore(),
    async startCandidate(pipeline, group, version) {
      metrics.forget(pipeline, group, `v${version}`);
      await serving.startCandidate(pipeline, group, version);
      return null;
    },
    candidatesBack: (pipeline) => serving.candidatesBack(pipeline),
    candidatesDown: (pipeline) => serving.candidatesDown(pipeline),
    // Resolved once the new weights are in force in every router worker: a rollback's 0% holds before it is recorded.
    async setCandidateWeight(pipeline, weight) {
      serving.setCandidateWeight(pipeline, weight);
      await serving.table.inForce();
    },
    async promoteCandidates(pipeline) {
      await serving.promoteCandidates(pipeline);
      await serving.table.inForce();
    },
    async retireCandidates(pipeline) {
      await serving.retireCandidates(pipeline);
      await serving.table.inForce();
    },
    holdCandidates: (pipeline) => serving.holdCandidates(pipeline),
    endpointOf(pipeline, group, role) {
      const server = serving.endpointOf(pipeline, group, role);
      if (!server) return null;
      const url = `http://${server.host}:${server.port}`;
      return {
        variant: server.variant,
        // MLP_INVOCATIONS_URL is the same in both serving modes; a multi-model server's model also has its name.
        env: {
          MLP_ENDPOINT_URL: url,
          MLP_INVOCATIONS_URL: `${url}${server.path}`,
          MLP_VARIANT: server.variant,
          ...(server.model ? { MLP_MODEL_NAME: server.model } : {}),
        },
        ...modelAt(server),
      };
    },
    capturedRequests: (pipeline, group, window) =>
      readCapture({ dir: captureDir, pipeline, group, sinceMs: window.sinceMs, limit: window.limit }),
    variantTraffic(pipeline, group, variant) {
      const m = metrics.variant(pipeline, group, variant);
      if (!m) return null;
      return {
        total: { ...m.total },
        windows: [
          trafficWindow(`${Math.round(m.window.windowMs / 1000)}s`, m.window),
          trafficWindow(`last ${m.recent.windowCount}`, m.recent),
        ],
      };
    },
    stopRetired: (pipeline) => serving.stopRetired(pipeline),
    close: () => serving.close(),
  };
}

const trafficWindow = (name: string, w: WindowMetrics): TrafficWindow => ({
  name,
  requests: w.requests,
  errors: w.errors,
  errorRate: w.errorRate,
  p99Ms: w.p99Ms,
});
