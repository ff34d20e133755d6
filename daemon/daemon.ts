/**
 * The composition root of `mlpd start`: wires the store, the repo registry and its watcher, the
 * API and the model-traffic router, and owns start-up and shutdown order.
 */
import { MLP_VERSION } from '../shared/version.js';
import { createApiHandlers } from './api/handlers.js';
import { startApiServer } from './api/server.js';
import { createCommandService } from './commands.js';
import { createEventBus } from './events.js';
import type { Logger } from './log.js';
import { urlHost } from './net.js';
import { checkPullable, startPulling } from './repo/pull.js';
import { createRegistry } from './repo/registry.js';
import { watchRepo } from './repo/watch.js';
import { startRouter } from './serving/router.js';
import { openStore } from './store/db.js';
import { buildSnapshot, pipelineView } from './status.js';
import { ensureOperatorTokenFile } from './tokens.js';
import { createGroupDirectory } from './warehouse/directory.js';
import { createLogPersister } from './logPersister.js';

export interface DaemonOptions {
  repo: string;
  dataDir: string;
  host: string;
  port: number;
  servePort: number;
  pullIntervalMs?: number;
  /** Every configured duration is divided by this (demos and tests). */
  timeScale: number;
  log: Logger;
}

export interface RunningDaemon {
  apiUrl: string;
  serveUrl: string;
  stop(): Promise<void>;
}

/** How often groups are rediscovered from the warehouse when nothing else changed. */
const GROUP_REFRESH_MS = 60_000;


export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const { log } = opts;
  const startedAt = Date.now();
  if (opts.pullIntervalMs !== undefined) {
    const upstream = await checkPullable(opts.repo);
    log.info('pull', `fast-forwarding ${opts.repo} from ${upstream} every ${opts.pullIntervalMs}ms`);
  }

  const store = openStore(opts.dataDir);
  const closers: (() => Promise<void> | void)[] = [() => store.close()];
  const stop = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        log.error('daemon', `error while stopping: ${(err as Error).message}`);
      }
    }
  };

  try {
    const bus = createEventBus();
    closers.push(createLogPersister({ log, store, bus }));
    // Reloads are serialised: a change that lands while groups are being discovered waits its
    // turn. Shutdown waits for the one in flight so its writes reach the store.
    let reloading: Promise<void> = Promise.resolve();
    closers.push(() => reloading);
    ensureOperatorTokenFile(opts.dataDir, store, log);

    const registry = createRegistry({ root: opts.repo, store, log });
    const groups = createGroupDirectory();

    const publishPipelines = (names: string[]) => {
      for (const name of names) {
        const p = registry.get(name);
        if (p) bus.publish({ kind: 'pipeline_updated', pipeline: pipelineView(p, registry, groups, store) });
      }
    };
    const reload = () => {
      reloading = reloading.then(async () => {
        const change = registry.reload();
        for (const name of change.removed) {
          groups.forget(name);
          bus.publish({ kind: 'pipeline_removed', name });
        }
        const changedConfigs = change.updated.map((n) => registry.get(n)!).filter((p) => p.problems.length === 0);
        const regrouped = await groups.refresh(changedConfigs, registry.repoConfig(), registry.root);
        publishPipelines([...new Set([...change.updated, ...regrouped])]);
        if (change.repoProblemsChanged) bus.publish({ kind: 'repo_problems', problems: registry.repoProblems() });
      }).catch((err) => log.error('config', `reload failed: ${(err as Error).stack ?? err}`));
      return reloading;
    };
    await reload();
    // Pipelines restored from the store whose file did not change still need their groups.
    await groups.refresh(registry.list(), registry.repoConfig(), registry.root);
    const count = registry.list().length;
    log.info('config', `${count} pipeline${count === 1 ? '' : 's'} in force from ${opts.repo}`);

    const watcher = watchRepo(opts.repo, () => void reload(), {
      onError: (err) => log.warn('config', `file watching degraded (${err.message}): falling back to polling`),
    });
    closers.push(() => watcher.close());
    const groupTimer = setInterval(() => {
      reloading = reloading
        .then(async () => publishPipelines(await groups.refresh(registry.list(), registry.repoConfig(), registry.root)))
        .catch((err) => log.error('groups', `refresh failed: ${(err as Error).stack ?? err}`));
    }, GROUP_REFRESH_MS);
    closers.push(() => clearInterval(groupTimer));

    if (opts.pullIntervalMs !== undefined) {
      const puller = startPulling({ root: opts.repo, intervalMs: opts.pullIntervalMs, log, onPulled: () => watcher.poke() });
      closers.push(() => puller.close());
    }

    const commands = createCommandService({
      store,
      log,
      pipelineExists: (name) => registry.get(name) !== undefined,
      knownPipelines: () => registry.list().map((p) => p.name),
      handlers: createApiHandlers({ store }),
    });

    const api = await startApiServer({
        host: opts.host,
        port: opts.port,
        log,
        daemon: { version: MLP_VERSION, startedAt },
        handlers: {
          authenticate: (secret) => {
            const token = store.tokens.verify(secret);
            return token ? { token: token.name, role: token.role } : null;
          },
          snapshot: () => buildSnapshot(registry, groups, store, Date.now()),
          execute: (cmd, session) => commands.execute(cmd, session),
          subscribe: (listener) => bus.subscribe(listener),
        },
      });
    closers.push(() => api.close());

    const router = await startRouter({
      host: opts.host,
      port: opts.servePort,
      deps: { groupsOf: (name) => (registry.get(name) ? groups.get(name).groups : null) },
    });
    closers.push(() => router.close());

    return { apiUrl: api.url, serveUrl: `http://${urlHost(opts.host)}:${router.port}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
