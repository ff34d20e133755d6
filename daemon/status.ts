/** What clients see: the snapshot of every pipeline in force, built from the registry and the store. */
import { relative } from 'node:path';
import type { PipelineView, RolloutView, RunView, Snapshot } from '../shared/protocol.js';
import type { Run } from './store/runs.js';
import type { PipelineRegistry } from './repo/registry.js';
import type { InForcePipeline } from './repo/reconcile.js';
import type { Store } from './store/db.js';
import type { GroupDirectory } from './warehouse/directory.js';

export function pipelineView(p: InForcePipeline, registry: PipelineRegistry, groups: GroupDirectory, store: Store): PipelineView {
  const info = groups.get(p.name);
  return {
    name: p.name,
    dir: relative(registry.root, p.dir) || '.',
    schedule: p.config.pipeline.schedule ?? null,
    groups: info.groups,
    groupsError: info.error,
    current: currentVersion(p.name, store),
    rollout: rolloutView(p.name, store),
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

export function buildSnapshot(registry: PipelineRegistry, groups: GroupDirectory, store: Store, now: number): Snapshot {
  return {
    type: 'snapshot',
    at: now,
    repo: { root: registry.root, problems: registry.repoProblems() },
    pipelines: registry.list().map((p) => pipelineView(p, registry, groups, store)),
  };
}

/** The version serving traffic: the candidate of the last rollout that reached `promoted`. */
function currentVersion(pipeline: string, store: Store): { version: string } | null {
  const promoted = store.rollouts.latestPromoted(pipeline);
  return promoted ? { version: `v${promoted.candidateVersion}` } : null;
}

/** The active rollout, else the most recent one (DESIGN §3). */
function rolloutView(pipeline: string, store: Store): RolloutView | null {
  const r = store.rollouts.active(pipeline) ?? store.rollouts.latest(pipeline);
  if (!r) return null;
  return {
    phase: r.phase,
    group: r.group,
    candidateVersion: `v${r.candidateVersion}`,
    currentVersion: r.currentVersion === null ? null : `v${r.currentVersion}`,
    candidateWeight: r.candidateWeight,
    startedAt: r.createdAt,
    updatedAt: r.updatedAt,
    reason: r.reason,
    decisions: store.decisions.list(r.id),
  };
}
