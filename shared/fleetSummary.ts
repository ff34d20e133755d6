/**
 * A pipeline's full view cut down to what the fleet list shows. The daemon sends summaries in the
 * snapshot and the `fleet` event; the TUI derives the same from a full view it subscribed to, so
 * both agree by construction.
 */
import type { PipelineSummary, PipelineView } from './protocol.js';

export function summaryOf(p: PipelineView): PipelineSummary {
  const r = p.rollout;
  const servers = { starting: 0, live: 0, failed: 0 };
  for (const v of p.variants) if (v.state !== 'stopped') servers[v.state]++;
  const failed = p.variants.find((v) => v.state === 'failed');
  const run = p.runs[0];
  return {
    name: p.name,
    groups: p.groups.length,
    current: p.current?.version ?? null,
    rollout: r
      ? {
          id: r.id,
          phase: r.phase,
          pausedFrom: r.pausedFrom,
          reason: r.reason,
          candidateVersion: r.candidateVersion,
          currentVersion: r.currentVersion,
          candidateWeight: r.candidateWeight,
          startedAt: r.startedAt,
          nextStep: r.nextStep,
          errorRateThreshold: errorRateThreshold(p),
        }
      : null,
    candidateErrors: candidateErrors(p),
    servers,
    failedServer: failed ? { group: failed.group, variant: failed.variant, lastError: failed.lastError } : null,
    lastRun: run ? { id: run.id, status: run.status, reason: run.reason, createdAt: run.createdAt, startedAt: run.startedAt, finishedAt: run.finishedAt } : null,
    problems: p.problems.length,
    latency: p.performance.latency,
    serving: p.performance.serving,
  };
}

/** The candidate's error rate in its worst group over the last 60 s; null before it served a request. */
export function candidateErrors(p: PipelineView): PipelineSummary['candidateErrors'] {
  let worst: PipelineSummary['candidateErrors'] = null;
  for (const v of p.variants) {
    const m = v.metrics?.window;
    if (v.role !== 'candidate' || !m || m.requests === 0) continue;
    if (!worst || m.errorRate > worst.rate) worst = { rate: m.errorRate, requests: m.requests, group: v.group };
  }
  return worst;
}

/**
 * The error-rate threshold, when a decision carries it (the config is not in the protocol, so
 * clients learn the threshold only from an `error_rate` decision).
 */
export function errorRateThreshold(p: PipelineView): number | null {
  const ds = p.rollout?.decisions ?? [];
  for (let i = ds.length - 1; i >= 0; i--) {
    const d = ds[i]!;
    if (d.rule === 'error_rate' && typeof d.threshold === 'number') return d.threshold;
  }
  return null;
}
