/** What clients see: the snapshot of every pipeline in force, built from the registry and the store. */
import { relative } from 'node:path';
import { pipelineBackends } from '../shared/config/backends.js';
import { summaryOf } from '../shared/fleetSummary.js';
import type { CapacityView, FullSnapshot, LatencyView, NotificationsView, PerformanceView, PipelineView, RolloutView, RunView, SageMakerServingView, Snapshot, VariantView } from '../shared/protocol.js';
import { servingEstimate, trainingEstimate } from './costs/estimate.js';
import { priceTable } from './costs/prices.js';
import type { Run } from './store/runs.js';
import type { PipelineRegistry } from './repo/registry.js';
import type { InForcePipeline } from './repo/reconcile.js';
import type { Store } from './store/db.js';
import type { Variant } from './store/variants.js';
import { rolloutMessageOf } from './rollout/display.js';
import { nextStepOf } from './rollout/machine.js';
import { rolloutPolicy } from './rollout/policy.js';
import { endpointName } from './platform/sagemaker/naming.js';
import { HISTORY_INTERVAL_MS } from './serving/metricsHistory.js';
import type { GroupDirectory } from './warehouse/directory.js';

/** Where the views' facts come from. */
export interface StatusSources {
  registry: PipelineRegistry;
  groups: GroupDirectory;
  store: Store;
  /** The daemon's --time-scale: when a rollout's next step is due depends on it. */
  timeScale: number;
  /** Live metrics of a variant, when serving is running. */
  variantMetrics?(pipeline: string, group: string, variant: string): VariantView['metrics'];
  /** Progress of a replay under way. */
  replayProgress?(pipeline: string): NonNullable<RolloutView['replayProgress']>;
  /** A pipeline's live traffic over the last minute, every group and variant pooled; null without any. */
  latency?(pipeline: string): LatencyView | null;
  /** A pipeline's traffic history. */
  history?(pipeline: string): PerformanceView['history'];
  /** Why the database refuses writes, null while it takes them. */
  storage?(): Snapshot['storage'];
  /** A pipeline's notification targets and last deliveries. */
  notifications?(pipeline: string): NotificationsView;
  /** The daemon's model servers and runs against its limits. */
  capacity?(): CapacityView;
}

export function pipelineView(p: InForcePipeline, src: StatusSources): PipelineView {
  const { registry, groups, store } = src;
  const info = groups.get(p.name);
  const live = store.variants.live(p.name);
  const variants = live.map((v) => variantViewOf(v, src));
  const backends = pipelineBackends(p.config.pipeline);
  return {
    name: p.name,
    dir: relative(registry.root, p.dir) || '.',
    schedule: p.config.pipeline.schedule ?? null,
    groups: info.groups,
    groupsError: info.error ?? (info.refused.length ? info.refused.join('; ') : null),
    current: currentOf(variants),
    variants,
    rollout: rolloutView(p, src),
    problems: p.problems,
    configLoadedAt: p.loadedAt,
    runs: store.runs.listRecent(p.name, RECENT_RUNS).map((run) => runViewOf(run, store)),
    performance: performanceOf(p, live, src),
    backends,
    sagemaker: backends.serving === 'sagemaker' ? sageMakerServing(p.name, info.groups, registry.repoConfig()?.aws?.region) : null,
    ...(src.notifications ? { notifications: src.notifications(p.name) } : {}),
  };
}

/** What `mlp invoke` needs to call a group's endpoint: its name (the platform's own naming) and the region. */
function sageMakerServing(pipeline: string, groups: readonly string[], region: string | undefined): SageMakerServingView {
  return { region: region ?? null, endpoints: Object.fromEntries(groups.map((g) => [g, endpointName(pipeline, g)])) };
}

/**
 * How fast the pipeline answers and what it costs (docs/costs.md). Costs use the instance types in
 * force now, so an edited `training.instance_type` re-prices the last run too.
 */
function performanceOf(p: InForcePipeline, variants: Variant[], src: StatusSources): PerformanceView {
  const { store } = src;
  const prices = priceTable(src.registry.repoConfig()?.prices);
  const run = store.runs.latestSucceeded(p.name);
  const { training, serve } = p.config.pipeline;
  return {
    latency: src.latency?.(p.name) ?? null,
    history: src.history?.(p.name) ?? { intervalMs: HISTORY_INTERVAL_MS, points: [] },
    training: run ? trainingEstimate(run, store.stepRuns.listByRun(run.id), training.instance_type, prices) : null,
    serving: servingEstimate(variants, serve.instance_type, prices),
    prices: { asOf: prices.asOf, region: prices.region, source: prices.source },
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

/** What a client gets on connect: every pipeline summarised, so its size grows by a few hundred bytes a pipeline. */
export function buildSnapshot(src: StatusSources, now: number): Snapshot {
  return { type: 'snapshot', ...snapshotHead(src, now), pipelines: src.registry.list().map((p) => summaryOf(pipelineView(p, src))) };
}

/** Every pipeline's full view: `mlp status --json`. */
export function buildFullSnapshot(src: StatusSources, now: number, id: string | null): FullSnapshot {
  return { type: 'full_snapshot', id, ...snapshotHead(src, now), pipelines: src.registry.list().map((p) => pipelineView(p, src)) };
}

function snapshotHead(src: StatusSources, now: number) {
  return {
    at: now,
    repo: { root: src.registry.root, problems: src.registry.repoProblems() },
    storage: src.storage?.() ?? null,
    ...(src.capacity ? { capacity: src.capacity() } : {}),
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
function rolloutView(p: InForcePipeline, src: StatusSources): RolloutView | null {
  const { store } = src;
  const pipeline = p.name;
  const r = store.rollouts.active(pipeline) ?? store.rollouts.latest(pipeline);
  if (!r) return null;
  const newest = (versions: (number | null)[]) => {
    const known = versions.filter((v): v is number => v !== null);
    return known.length ? `v${Math.max(...known)}` : null;
  };
  const gates = r.state.gates ?? {};
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
    ...withMessage(rolloutMessageOf(r)),
    decisions: store.decisions.list(r.id),
    nextStep: nextStepOf(r, rolloutPolicy(p.config, src.timeScale)),
  };
}

const withMessage = (message: string | null) => (message === null ? {} : { message });
