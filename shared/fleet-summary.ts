/**
 * A pipeline's full view cut down to what the fleet list shows. The daemon sends summaries in the
 * snapshot and the `fleet` event; the TUI derives the same from a full view it subscribed to, so
 * both agree by construction.
 */
import { SUMMARY_REASON_CHARS, type PipelineSummary, type PipelineView } from './protocol.js';

export function summaryOf(p: PipelineView): PipelineSummary {
  const r = p.rollout;
  const servers: PipelineSummary['servers'] = {};
  for (const v of p.variants) if (v.state !== 'stopped') servers[v.state] = (servers[v.state] ?? 0) + 1;
  const failed = p.variants.find((v) => v.state === 'failed');
  const run = p.runs[0];
  const errors = candidateErrors(p);
  const threshold = errorRateThreshold(p);
  const latency = p.performance.latency;
  const usd = p.performance.serving?.estimatedUsdPer30Days;
  // Keys without a value are left out: most pipelines have most of them empty most of the time.
  return {
    name: p.name,
    groups: p.groups.length,
    ...(p.current && { current: p.current.version }),
    ...(r && {
      rollout: {
        phase: r.phase,
        candidateVersion: r.candidateVersion,
        ...(r.currentVersion !== null && { currentVersion: r.currentVersion }),
        candidateWeight: r.candidateWeight,
        ...(r.pausedFrom !== null && { pausedFrom: r.pausedFrom }),
        ...(r.reason !== null && { reason: cut(r.reason) }),
        ...(r.nextStep && { nextStep: r.nextStep }),
        // Shown beside the candidate's error rate only.
        ...(errors && threshold !== null && { errorRateThreshold: threshold }),
      },
    }),
    ...(errors && { candidateErrorRate: errors.rate }),
    servers,
    ...(failed && {
      failedServer: {
        group: failed.group,
        variant: failed.variant,
        ...(failed.lastError !== null && { lastError: cut(failed.lastError) }),
      },
    }),
    ...(run && {
      lastRun: {
        status: run.status,
        at: run.finishedAt ?? run.startedAt ?? run.createdAt,
        // The id of a failed run lets the list open it; of a queued one, find its place in the queue (capacity.runs.queued).
        ...((run.status === 'failed' || run.status === 'queued') && { id: run.id }),
        ...(run.status === 'failed' && run.reason !== null && { reason: cut(run.reason) }),
      },
    }),
    ...(p.problems.length > 0 && { problems: p.problems.length }),
    ...(latency && { latency: { p50Ms: latency.p50Ms, p99Ms: latency.p99Ms } }),
    ...(usd != null && { servingUsdPer30Days: usd }),
  };
}

const cut = (text: string) => (text.length > SUMMARY_REASON_CHARS ? `${text.slice(0, SUMMARY_REASON_CHARS - 1)}…` : text);

/** The candidate's error rate in its worst group over the last 60 s; null before it served a request. */
export function candidateErrors(p: PipelineView): { rate: number; requests: number; group: string } | null {
  let worst: { rate: number; requests: number; group: string } | null = null;
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
