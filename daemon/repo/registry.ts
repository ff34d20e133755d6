/**
 * The pipelines in force: loads the repo, applies the reconcile rule, persists the outcome and
 * announces it. The store keeps the last valid version of every pipeline, so a daemon restarted
 * on a repo whose file is now broken still runs the version that was in force.
 */
import { relative } from 'node:path';
import { formatProblem, type ConfigProblem } from '../../shared/config/problems.js';
import { PipelineFileSchema, type RepoConfig } from '../../shared/config/schema.js';
import { loadRepo } from '../../shared/repo/discover.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/db.js';
import { reconcile, type InForcePipeline } from './reconcile.js';

export interface RegistryChange {
  updated: string[];
  removed: string[];
  repoProblemsChanged: boolean;
}

export interface PipelineRegistry {
  readonly root: string;
  list(): InForcePipeline[];
  get(name: string): InForcePipeline | undefined;
  repoConfig(): RepoConfig | null;
  /** Problems no pipeline carries: files that never loaded, mlp.yaml. */
  repoProblems(): ConfigProblem[];
  /** Reads the folder again and applies what changed. */
  reload(): RegistryChange;
}

export function createRegistry(opts: { root: string; store: Store; log: Logger; now?: () => number }): PipelineRegistry {
  const { root, store, log } = opts;
  const now = opts.now ?? Date.now;
  const rel = (file: string) => relative(root, file) || file;

  let inForce = restoreFromStore(store, log);
  let repoConfig: RepoConfig | null = null;
  let repoProblems: ConfigProblem[] = [];

  function reload(): RegistryChange {
    const at = now();
    const load = loadRepo(root);
    const mlpYamlBroken = load.problems.some((p) => p.file === load.repoConfigFile);
    // Like a pipeline, a broken mlp.yaml keeps its last valid version in force.
    if (!mlpYamlBroken) repoConfig = load.repoConfig;

    const result = reconcile(inForce, load, at);
    store.transaction(() => {
      for (const name of result.updated) {
        const p = result.inForce.get(name)!;
        if (p.problems.length === 0) {
          store.pipelines.upsertValid({ name, dir: p.dir, file: p.file, config: p.config, hash: p.hash, at });
        } else {
          store.pipelines.markInvalid(name, p.problems, at);
        }
      }
      for (const name of result.removed) store.pipelines.markRemoved(name, at);
    });

    for (const name of result.updated) {
      const p = result.inForce.get(name)!;
      if (p.problems.length === 0) {
        const before = inForce.get(name);
        log.info('config', before ? `reloaded ${rel(p.file)}` : `loaded ${rel(p.file)}`, name);
      } else {
        for (const problem of p.problems) log.warn('config', formatProblem(problem, root), name);
        log.warn('config', `${rel(p.file)} is invalid: the previous version stays in force`, name);
      }
    }
    for (const name of result.removed) log.info('config', `removed (its pipeline.yaml is gone)`, name);

    const repoProblemsChanged = JSON.stringify(repoProblems) !== JSON.stringify(result.repoProblems);
    if (repoProblemsChanged) {
      for (const problem of result.repoProblems) log.warn('config', formatProblem(problem, root));
    }
    inForce = result.inForce;
    repoProblems = result.repoProblems;
    return { updated: result.updated, removed: result.removed, repoProblemsChanged };
  }

  return {
    root,
    list: () => [...inForce.values()].sort((a, b) => a.name.localeCompare(b.name)),
    get: (name) => inForce.get(name),
    repoConfig: () => repoConfig,
    repoProblems: () => repoProblems,
    reload,
  };
}

/**
 * The versions in force when the daemon last ran. Stored configs are parsed again, so defaults
 * added by a newer mlp apply; one the current schema no longer accepts is dropped (its file,
 * if still valid, loads again on the first scan).
 */
function restoreFromStore(store: Store, log: Logger): Map<string, InForcePipeline> {
  const restored = new Map<string, InForcePipeline>();
  for (const row of store.pipelines.list()) {
    const parsed = PipelineFileSchema.safeParse(row.config);
    if (!parsed.success) {
      log.warn('config', "the stored version no longer fits this mlp's schema: waiting for a valid file", row.name);
      continue;
    }
    restored.set(row.name, {
      name: row.name,
      dir: row.dir,
      file: row.file,
      config: parsed.data,
      hash: row.hash,
      loadedAt: row.loadedAt,
      problems: row.problems ?? [],
    });
  }
  return restored;
}
