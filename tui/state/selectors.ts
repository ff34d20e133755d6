/** Questions the views ask of the fleet model; pure, so they are tested without a terminal. */
import { isTerminalPhase } from '../../shared/domain.js';
import type { PipelineSummary, PipelineView, RolloutPhase } from '../../shared/protocol.js';

/** Why a pipeline waits for a person; lower `rank` is more urgent. */
export interface Attention {
  rank: number;
  why: string;
}

const PHASE_RANK: Partial<Record<RolloutPhase, number>> = { blocked: 0, failed: 1, rolling_back: 2, paused: 3 };

export function attentionOf(p: PipelineSummary): Attention | null {
  const r = p.rollout;
  if (r && PHASE_RANK[r.phase] !== undefined) {
    const why = r.phase === 'paused' ? `paused${r.pausedFrom ? ` in ${r.pausedFrom}` : ''}` : r.phase.replace('_', ' ');
    return { rank: PHASE_RANK[r.phase]!, why: r.reason ? `${why}: ${r.reason}` : why };
  }
  const broken = p.failedServer;
  if (broken) return { rank: 4, why: `${broken.variant} in ${broken.group} failed${broken.lastError ? `: ${broken.lastError}` : ''}` };
  const run = p.lastRun;
  if (run?.status === 'failed') return { rank: 5, why: `run ${run.id ?? ''} failed${run.reason ? `: ${run.reason}` : ''}` };
  if (p.problems)
    return {
      rank: 6,
      why: `invalid edit of pipeline.yaml (${p.problems} problem${p.problems > 1 ? 's' : ''}): the previous version stays in force`,
    };
  return null;
}

export const isActive = (p: Pick<PipelineSummary, 'rollout'>): boolean => p.rollout !== undefined && !isTerminalPhase(p.rollout.phase);

/** Every word of the query must appear in the pipeline's name, phase or versions (case-insensitive). */
export function matchesFilter(p: PipelineSummary, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = [p.name, p.rollout?.phase ?? 'idle', p.current ?? '', p.rollout?.candidateVersion ?? ''].join(' ').toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** The fleet as the list shows it: what needs a person first (most urgent first), then active rollouts, then by name. */
export function fleetRows(pipelines: readonly PipelineSummary[], query = ''): PipelineSummary[] {
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
export function trafficSplit(p: Pick<PipelineSummary, 'rollout' | 'current'>): TrafficSplit | null {
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

/** Pipelines needing a person, and those rolling out, for the header line. */
export function fleetCounts(pipelines: readonly PipelineSummary[]): { total: number; attention: number; active: number } {
  let attention = 0;
  let active = 0;
  for (const p of pipelines) {
    if (attentionOf(p)) attention++;
    if (isActive(p)) active++;
  }
  return { total: pipelines.length, attention, active };
}
