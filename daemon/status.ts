/** What clients see: the snapshot of every pipeline in force, built from the registry and the store. */
import { relative } from 'node:path';
import type { PipelineView, RolloutView, RunView, Snapshot, VariantView } from '../shared/protocol.js';
import type { Run } from './store/runs.js';
import type { PipelineRegistry } from './repo/registry.js';
import type { InForcePipeline } from './repo/reconcile.js';
import type { Store } from './store/db.js';
import type { Variant } from './store/variants.js';
import type { MachineState } from './rollout/machine.js';
import type { GroupDirectory } from './warehouse/directory.js';

/** Where the views' facts come from. */
export interface StatusSources {
  registry: PipelineRegistry;
  groups: GroupDirectory;
  store: Store;
  /** Live metrics of a variant, when serving is running. */
  variantMetrics?(pipeline: string, group: string, variant: string): VariantView['metrics'];
  /** Progress of a replay under way. */
  replayProgress?(pipeline: string): NonNullable<RolloutView['replayProgress']>;
}

export function pipelineView(p: InForcePipeline, src: StatusSources): PipelineView {
  const { registry, groups, store } = src;
  const info = groups.get(p.name);
  const variants = store.variants.live(p.name).map((v) => variantViewOf(v, src));
  return {
    name: p.name,
    dir: relative(registry.root, p.dir) || '.',
    schedule: p.config.pipeline.schedule ?? null,
    groups: info.groups,
    groupsError: info.error,
    current: currentOf(variants),
    variants,
    rollout: rolloutView(p.name, src),
    problems: p.problems,
    configLoadedAt: p.loadedAt,
    runs: store.runs.listRecent(p.name, RECENT_RUNS).map((run) => runViewOf(run, store)),
  };
}

/** Runs shown per pipeline in status. */
const RECENT_RUNS = 5;

export function runViewOf(run: Run, store: Store): RunView {
  return {
    id: run.id,
    pipeline: run.pipeline,
    trigger: run.trigger,
    status: run.status,
    reason: run.reason,
    scheduledFor: run.scheduledFor,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    gitCommit: run.gitCommit,
    steps: store.stepRuns.listByRun(run.id).map((s) => ({
      step: s.step,
      group: s.group,
      executor: s.executor,
      status: s.status,
      exitCode: s.exitCode,
      reason: s.reason,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
    })),
  };
}

export function buildSnapshot(src: StatusSources, now: number): Snapshot {
  return {
    type: 'snapshot',
    at: now,
    repo: { root: src.registry.root, problems: src.registry.repoProblems() },
    pipelines: src.registry.list().map((p) => pipelineView(p, src)),
  };
}

function variantViewOf(v: Variant, src: StatusSources): VariantView {
  const name = `v${v.version}`;
  return {
    group: v.group,
    variant: name,
    role: v.role,
    weight: v.weight,
    backend: v.backend,
    state: v.state,
    port: v.port,
    restarts: v.restarts,
    lastError: v.lastError,
    metrics: src.variantMetrics?.(v.pipeline, v.group, name) ?? null,
  };
}

/** The version serving each group (its `current` variant); `version` is the newest of them. */
function currentOf(variants: VariantView[]): PipelineView['current'] {
  const current = variants.filter((v) => v.role === 'current');
  if (current.length === 0) return null;
  const groups = Object.fromEntries(current.map((v) => [v.group, v.variant]));
  const newest = current.map((v) => Number(v.variant.slice(1))).reduce((a, b) => Math.max(a, b));
  return { version: `v${newest}`, groups };
}

/** The active rollout, else the most recent one (DESIGN §3). */
function rolloutView(pipeline: string, src: StatusSources): RolloutView | null {
  const { store } = src;
  const r = store.rollouts.active(pipeline) ?? store.rollouts.latest(pipeline);
  if (!r) return null;
  const newest = (versions: (number | null)[]) => {
    const known = versions.filter((v): v is number => v !== null);
    return known.length ? `v${Math.max(...known)}` : null;
  };
  const gates = (r.state as MachineState).gates ?? {};
  return {
    id: r.id,
    phase: r.phase,
    candidateVersion: newest(r.groups.map((g) => g.candidate))!,
    currentVersion: newest(r.groups.map((g) => g.current)),
    candidateWeight: r.candidateWeight,
    groups: r.groups.map((g) => ({ group: g.group, candidateVersion: `v${g.candidate}`, currentVersion: g.current === null ? null : `v${g.current}` })),
    pausedFrom: r.pausedFrom,
    gates: Object.fromEntries(
      Object.entries(gates).map(([gate, o]) => [gate, { passed: o.passed, skipped: o.skipped ?? false, summary: o.summary, report: o.report ?? null }]),
    ),
    replayProgress: r.phase === 'replaying' ? (src.replayProgress?.(pipeline) ?? []) : [],
    startedAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    reason: r.reason,
    decisions: store.decisions.list(r.id),
  };
}
