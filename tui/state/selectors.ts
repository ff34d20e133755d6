/** Questions the views ask of the fleet model; pure, so they are tested without a terminal. */
import { isTerminalPhase } from '../../shared/domain.js';
import type { DecisionView, PipelineView, RolloutPhase } from '../../shared/protocol.js';

/** Why a pipeline waits for a person; lower `rank` is more urgent. */
export interface Attention {
  rank: number;
  why: string;
}

const PHASE_RANK: Partial<Record<RolloutPhase, number>> = { blocked: 0, failed: 1, rolling_back: 2, paused: 3 };

export function attentionOf(p: PipelineView): Attention | null {
  const r = p.rollout;
  if (r && PHASE_RANK[r.phase] !== undefined) {
    const why = r.phase === 'paused' ? `paused${r.pausedFrom ? ` in ${r.pausedFrom}` : ''}` : r.phase.replace('_', ' ');
    return { rank: PHASE_RANK[r.phase]!, why: r.reason ? `${why}: ${r.reason}` : why };
  }
  const broken = p.variants.find((v) => v.state === 'failed');
  if (broken) return { rank: 4, why: `${broken.variant} in ${broken.group} failed${broken.lastError ? `: ${broken.lastError}` : ''}` };
  const run = p.runs[0];
  if (run?.status === 'failed') return { rank: 5, why: `run ${run.id} failed${run.reason ? `: ${run.reason}` : ''}` };
  if (p.problems.length) return { rank: 6, why: `invalid edit of pipeline.yaml (${p.problems.length} problem${p.problems.length > 1 ? 's' : ''}): the previous version stays in force` };
  return null;
}

export const isActive = (p: PipelineView): boolean => p.rollout !== null && !isTerminalPhase(p.rollout.phase);

/** Every word of the query must appear in the pipeline's name, phase or versions (case-insensitive). */
export function matchesFilter(p: PipelineView, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = [p.name, p.rollout?.phase ?? 'idle', p.current?.version ?? '', p.rollout?.candidateVersion ?? ''].join(' ').toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** The fleet as the list shows it: what needs a person first (most urgent first), then active rollouts, then by name. */
export function fleetRows(pipelines: readonly PipelineView[], query = ''): PipelineView[] {
  const keyed = pipelines
    .filter((p) => matchesFilter(p, query))
    .map((p) => ({ p, attention: attentionOf(p)?.rank ?? Infinity, active: isActive(p) ? 0 : 1 }));
  keyed.sort((a, b) => a.attention - b.attention || a.active - b.active || a.p.name.localeCompare(b.p.name));
  return keyed.map((k) => k.p);
}

export interface TrafficSplit {
  current: number;
  candidate: number;
}

/** The pipeline's split across all groups (groups move in lockstep); null when nothing serves. */
export function trafficSplit(p: PipelineView): TrafficSplit | null {
  if (isActive(p)) {
    const candidate = p.rollout!.candidateWeight;
    return { current: 100 - candidate, candidate };
  }
  if (p.current) return { current: 100, candidate: 0 };
  return null;
}

/** Each group's split, from its model servers' router weights. */
export function groupSplits(p: PipelineView): Array<{ group: string } & TrafficSplit> {
  const groups = p.groups.length ? p.groups : [...new Set(p.variants.map((v) => v.group))];
  return groups.map((group) => {
    const vs = p.variants.filter((v) => v.group === group);
    const sum = (role: 'current' | 'candidate') => vs.filter((v) => v.role === role).reduce((n, v) => n + v.weight, 0);
    return { group, current: sum('current'), candidate: sum('candidate') };
  });
}

export interface ErrorRate {
  /** 0..1, the worst group's over the last 60 s (the window the live watch also reads). */
  rate: number;
  requests: number;
  group: string;
}

/** The candidate's error rate in its worst group; null before it served a request. */
export function candidateErrorRate(p: PipelineView): ErrorRate | null {
  let worst: ErrorRate | null = null;
  for (const v of p.variants) {
    const m = v.metrics?.window;
    if (v.role !== 'candidate' || !m || m.requests === 0) continue;
    if (!worst || m.errorRate > worst.rate) worst = { rate: m.errorRate, requests: m.requests, group: v.group };
  }
  return worst;
}

/**
 * The error-rate threshold, when a decision carries it (the config is not in the protocol, so the
 * TUI learns the threshold only from an `error_rate` decision).
 */
export function errorRateThreshold(p: PipelineView): number | null {
  const d = lastDecision(p, (x) => x.rule === 'error_rate' && typeof x.threshold === 'number');
  return d ? (d.threshold as number) : null;
}

export function lastDecision(p: PipelineView, test: (d: DecisionView) => boolean): DecisionView | null {
  const ds = p.rollout?.decisions ?? [];
  for (let i = ds.length - 1; i >= 0; i--) if (test(ds[i]!)) return ds[i]!;
  return null;
}

/** Pipelines needing a person, and those rolling out, for the header line. */
export function fleetCounts(pipelines: readonly PipelineView[]): { total: number; attention: number; active: number } {
  let attention = 0;
  let active = 0;
  for (const p of pipelines) {
    if (attentionOf(p)) attention++;
    if (isActive(p)) active++;
  }
  return { total: pipelines.length, attention, active };
}
