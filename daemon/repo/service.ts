/**
 * The repo side of the daemon: the pipelines in force (registry), their groups, and the watcher
 * that keeps both current. Reloads are serialised: a change that lands while groups are being
 * discovered waits its turn.
 */
import type { ConfigProblem } from '../../shared/config/problems.js';
import type { Logger } from '../log.js';
import type { StorageHealth } from '../storage-health.js';
import type { Store } from '../store/db.js';
import { createGroupDirectory, type GroupDirectory, type GroupInfo } from '../warehouse/directory.js';
import { createRegistry, type PipelineRegistry, type RegistryChange } from './registry.js';
import { watchRepo } from './watch.js';

/** How often groups are rediscovered from the warehouse when nothing else changed. */
const GROUP_REFRESH_MS = 60_000;

export interface RepoService {
  registry: PipelineRegistry;
  groups: GroupDirectory;
  /** Reads the folder again now; resolves once the change is applied and announced. */
  reload(): Promise<RegistryChange | undefined>;
  /** Rediscovers the groups of one pipeline (before a run). */
  refreshGroups(name: string): Promise<GroupInfo>;
  /**
   * Tells `listener` of every change from now on, so parts built on the registry subscribe once they
   * exist; what was in force before, they read from the registry. Returns a function that unsubscribes.
   */
  subscribe(listener: Partial<RepoListener>): () => void;
  close(): Promise<void>;
}

export interface RepoListener {
  /** Pipelines added, changed (config or groups), broken or mended. */
  updated(names: string[]): void;
  removed(name: string): void;
  repoProblems(problems: ConfigProblem[]): void;
}

export async function startRepoService(opts: { root: string; store: Store; storage: StorageHealth; log: Logger }): Promise<RepoService> {
  const { store, log } = opts;
  const listeners = new Set<Partial<RepoListener>>();
  const listener: RepoListener = {
    updated: (names) => listeners.forEach((l) => l.updated?.(names)),
    removed: (name) => listeners.forEach((l) => l.removed?.(name)),
    repoProblems: (problems) => listeners.forEach((l) => l.repoProblems?.(problems)),
  };
  let reloadAgain: NodeJS.Timeout | undefined;
  const registry = createRegistry({ root: opts.root, store, log });
  const groups = createGroupDirectory({ onRefused: (name, refused) => refused.forEach((line) => log.warn('groups', line, name)) });
  let queue: Promise<unknown> = Promise.resolve();

  /** Runs `task` after the ones before it; a failure is logged and does not stop later ones. */
  const serialise = <T>(what: string, task: () => Promise<T>): Promise<T | undefined> => {
    const next = queue.then(task).catch((err) => {
      if (opts.storage.failed(err)) {
        // The change could not be recorded (disk full), so it was not applied: read the folder again later.
        reloadAgain ??= setTimeout(() => {
          reloadAgain = undefined;
          // serialise() catches and logs, so the retry is fire and forget.
          void reload();
        }, opts.storage.retryEveryMs);
        return undefined;
      }
      log.error('config', `${what} failed: ${(err as Error).stack ?? err}`);
      return undefined;
    });
    queue = next;
    return next;
  };

  const publish = (names: string[]) => {
    if (names.length) listener.updated(names);
  };

  const reload = () =>
    serialise('reload', async () => {
      const change = registry.reload();
      for (const name of change.removed) {
        groups.forget(name);
        listener.removed(name);
      }
      const changedConfigs = change.updated.map((n) => registry.get(n)!).filter((p) => p.problems.length === 0);
      const regrouped = await groups.refresh(changedConfigs, registry.repoConfig(), registry.root);
      publish([...new Set([...change.updated, ...regrouped])]);
      if (change.repoProblemsChanged) listener.repoProblems(registry.repoProblems());
      return change;
    });

  const refreshAll = () =>
    serialise('group discovery', async () => publish(await groups.refresh(registry.list(), registry.repoConfig(), registry.root)));

  await reload();
  // Pipelines restored from the store whose file did not change still need their groups.
  await refreshAll();

  const watcher = watchRepo(opts.root, () => void reload(), {
    onError: (err) => log.warn('config', `file watching degraded (${err.message}): falling back to polling`),
  });
  const groupTimer = setInterval(() => void refreshAll(), GROUP_REFRESH_MS);

  return {
    registry,
    groups,
    reload,
    async refreshGroups(name) {
      const p = registry.get(name);
      if (p) await serialise('group discovery', async () => publish(await groups.refresh([p], registry.repoConfig(), registry.root)));
      return groups.get(name);
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async close() {
      watcher.close();
      clearInterval(groupTimer);
      clearTimeout(reloadAgain);
      await queue; // writes of a reload in flight reach the store before it closes
    },
  };
}
