/**
 * What clients see: the snapshot of every pipeline in force, built from the registry and the store.
 * The store's records of all the pipelines a snapshot shows are read together (a fixed number of
 * statements, store/fleet-reads.ts), so a snapshot's cost in SQLite does not grow by a dozen
 * statements a pipeline.
 */
import { relative } from 'node:path';
import { pipelineBackends } from '../shared/config/backends.js';
import { summaryOf } from '../shared/fleet-summary.js';
import type {
  CapacityView,
  FullSnapshot,
  PipelineSummary,
  LatencyView,
  NotificationsView,
  PerformanceView,
  PipelineView,
  RolloutView,
  RunView,
  SageMakerServingView,
  Snapshot,
  VariantView,
} from '../shared/protocol.js';
import { gateViewsOf } from '../shared/reports/gates.js';
import { servingEstimate, trainingEstimate } from './costs/estimate.js';
import { priceTable, type PriceTable } from './costs/prices.js';
import type { Run } from './store/runs.js';
import type { StepRun } from './store/step-runs.js';
import type { PipelineRecords, RecordsDepth } from './store/fleet-reads.js';
import type { PipelineRegistry } from './repo/registry.js';
import type { InForcePipeline } from './repo/reconcile.js';
import type { Store } from './store/db.js';
import type { Variant } from './store/variants.js';
import { rolloutMessageOf } from './rollout/display.js';
import { nextStepOf } from './rollout/machine.js';
import { rolloutPolicy } from './rollout/policy.js';
import { endpointName } from './platform/sagemaker/naming.js';
import { HISTORY_INTERVAL_MS } from './serving/metrics/history.js';
import type { GroupDirectory } from './warehouse/directory.js';

/** Where the views' facts come from. */
export interface StatusSources {
  registry: PipelineRegistry;
  groups: GroupDirectory;
  store: Store;
  /** The daemon's --time-scale: when a rollout's next step is due depends on it. */
  timeScale: number;
  /** Live metrics of a variant, when serving is running (`backend`: where it serves, so no lookup is needed to know). */
  variantMetrics?(pipeline: string, group: string, variant: string, backend: Variant['backend']): VariantView['metrics'];
  /** Progress of a replay under way. */
  replayProgress?(pipeline: string): NonNullable<RolloutView['replayProgress']>;
  /** A pipeline's live traffic over the last minute, every group and variant pooled; null without any. */
  latency?(pipeline: string): LatencyView | null;
  /** A pipeline's traffic history. */
  history?(pipeline: string): PerformanceView['history'];
  /** Why the database refuses writes, null while it takes them. */
  storage?(): Snapshot['storage'];
  /** A pipeline's notification targets and last deliveries (`sent`: its newest notifications, from the store). */
  notifications?(pipeline: string, sent: PipelineRecords['notifications']): NotificationsView;
  /** The daemon's model servers and runs against its limits. */
  capacity?(): CapacityView;
}

/** One pipeline's full view (a client's detail). */
export function pipelineView(p: InForcePipeline, src: StatusSources): PipelineView {
  return viewsOf([p], src)[0]!;
}

/** The full views of `pipelines`, from one read of the store for all of them. */
export function viewsOf(pipelines: readonly InForcePipeline[], src: StatusSources): PipelineView[] {
  return viewsAt(pipelines, src, 'full');
}

/**
 * The summaries of `pipelines` (the fleet list's rows). They are cut from views built of what a
 * summary reads only (depth `summary`: no steps, no older runs or decisions, no notifications), so
 * they equal the summaries of full views at a fraction of the rows.
 */
export function summariesOf(pipelines: readonly InForcePipeline[], src: StatusSources): PipelineSummary[] {
  return viewsAt(pipelines, src, 'summary').map(summaryOf);
}

function viewsAt(pipelines: readonly InForcePipeline[], src: StatusSources, depth: RecordsDepth): PipelineView[] {
  const records = src.store.fleetReads.of(
    pipelines.map((p) => p.name),
    depth,
  );
  const prices = priceTable(src.registry.repoConfig()?.prices);
  return pipelines.map((p) => viewOf(p, records.get(p.name)!, prices, src, depth));
}

function viewOf(p: InForcePipeline, records: PipelineRecords, prices: PriceTable, src: StatusSources, depth: RecordsDepth): PipelineView {
  const { registry, groups } = src;
  const info = groups.get(p.name);
  const variants = records.live.map((v) => variantViewOf(v, src));
  const backends = pipelineBackends(p.config.pipeline);
  return {
    name: p.name,
    dir: relative(registry.root, p.dir) || '.',
    schedule: p.config.pipeline.schedule ?? null,
    groups: info.groups,
    groupsError: info.error ?? (info.refused.length ? info.refused.join('; ') : null),
    current: currentOf(variants),
    variants,
    rollout: rolloutView(p, records, src),
    problems: p.problems,
    configLoadedAt: p.loadedAt,
    runs: records.recentRuns.map((run) => runViewFrom(run, records.steps.get(run.id) ?? [])),
    performance: performanceOf(p, records, prices, src),
    backends,
    sagemaker: backends.serving === 'sagemaker' ? sageMakerServing(p.name, info.groups, registry.repoConfig()?.aws?.region) : null,
    ...(src.notifications && depth === 'full' ? { notifications: src.notifications(p.name, records.notifications) } : {}),
  };
}

/** What `mlp invoke` needs to call a group's endpoint: its name (the platform's own naming) and the region. */
function sageMakerServing(pipeline: string, groups: readonly string[], region: string | undefined): SageMakerServingView {
  return {
    region: region ?? null,
    endpoints: Object.fromEntries(groups.map((g) => [g, endpointName(pipeline, g)])),
  };
}

/**
 * How fast the pipeline answers and what it costs (docs/costs.md). Costs use the instance types in
 * force now, so an edited `training.instance_type` re-prices the last run too.
 */
function performanceOf(p: InForcePipeline, records: PipelineRecords, prices: PriceTable, src: StatusSources): PerformanceView {
  const run = records.latestSucceeded;
  const { training, serve } = p.config.pipeline;
  return {
    latency: src.latency?.(p.name) ?? null,
    history: src.history?.(p.name) ?? {
      intervalMs: HISTORY_INTERVAL_MS,
      points: [],
    },
    training: run ? trainingEstimate(run, records.steps.get(run.id) ?? [], training.instance_type, prices) : null,
    serving: servingEstimate(records.live, serve.instance_type, prices),
    prices: { asOf: prices.asOf, region: prices.region, source: prices.source },
  };
}

/** A run as clients see it, its steps read from the store. */
export function runViewOf(run: Run, store: Store): RunView {
  return runViewFrom(run, store.stepRuns.listByRun(run.id));
}

function runViewFrom(run: Run, steps: StepRun[]): RunView {
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
    steps: steps.map((s) => ({
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
  return {
    type: 'snapshot',
    ...snapshotHead(src, now),
    pipelines: summariesOf(src.registry.list(), src),
  };
}

/** Every pipeline's full view: `mlp status --json`. */
export function buildFullSnapshot(src: StatusSources, now: number, id: string | null): FullSnapshot {
  return {
    type: 'full_snapshot',
    id,
    ...snapshotHead(src, now),
    pipelines: viewsOf(src.registry.list(), src),
  };
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
    metrics: src.variantMetrics?.(v.pipeline, v.group, name, v.backend) ?? null,
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

/** The active rollout, else the most recent one (docs/api.md, the snapshot's `rollout`). */
function rolloutView(p: InForcePipeline, records: PipelineRecords, src: StatusSources): RolloutView | null {
  const pipeline = p.name;
  const r = records.rollout;
  if (!r) return null;
  const newest = (versions: (number | null)[]) => {
    const known = versions.filter((v): v is number => v !== null);
    return known.length ? `v${Math.max(...known)}` : null;
  };
  return {
    id: r.id,
    phase: r.phase,
    candidateVersion: newest(r.groups.map((g) => g.candidate))!,
    currentVersion: newest(r.groups.map((g) => g.current)),
    candidateWeight: r.candidateWeight,
    groups: r.groups.map((g) => ({
      group: g.group,
      candidateVersion: `v${g.candidate}`,
      currentVersion: g.current === null ? null : `v${g.current}`,
    })),
    pausedFrom: r.pausedFrom,
    gates: gateViewsOf(r.state.gates ?? {}),
    replayProgress: r.phase === 'replaying' ? (src.replayProgress?.(pipeline) ?? []) : [],
    startedAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    reason: r.reason,
    ...withMessage(rolloutMessageOf(r)),
    decisions: records.decisions,
    nextStep: nextStepOf(r, rolloutPolicy(p.config, src.timeScale)),
  };
}

const withMessage = (message: string | null) => (message === null ? {} : { message });
