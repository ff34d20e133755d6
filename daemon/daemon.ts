/**
 * The composition root of `mlpd start`: wires the store, the repo (registry, watcher, pull), the
 * run queue and scheduler, the API and the model-traffic router, and owns start-up and shutdown
 * order. Shutdown runs the closers in reverse: listeners first, then work in flight, then the store.
 */
import { cpus } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { describeError, MlpError } from '../shared/errors.js';
import { MLP_VERSION } from '../shared/version.js';
import { createApiHandlers } from './api/handlers.js';
import { createRolloutController, type RolloutController } from './rollout/controller.js';
import { runDataCheckGate } from './rollout/dataChecks.js';
import { createGateRunner } from './rollout/gates.js';
import { rolloutPolicy } from './rollout/policy.js';
import { startApiServer } from './api/server.js';
import { createCommandService } from './commands.js';
import { createEventBus } from './events.js';
import { createExecutorFactory } from './executors/factory.js';
import type { Logger } from './log.js';
import { createLogPersister } from './logPersister.js';
import { createLogWriter } from './logWriter.js';
import { startMaintenance } from './maintenance.js';
import { urlHost } from './net.js';
import { checkPullable, startPulling, type PullResult } from './repo/pull.js';
import { startRepoService } from './repo/service.js';
import { createRunQueue } from './runs/queue.js';
import { startScheduling } from './scheduler/wiring.js';
import { createCaptureWriter } from './serving/capture.js';
import { createLiveMetrics } from './serving/metrics.js';
import { metricsView, pipelineLatency, startMetricsTicker } from './serving/metricsEvents.js';
import { startMetricsHistory, type MetricsHistory } from './serving/metricsHistory.js';
import { startRouter } from './serving/router.js';
import { createServerBackends } from './serving/backends.js';
import { createServing, type Serving } from './serving/service.js';
import { createStorageHealth } from './storageHealth.js';
import { openStore } from './store/db.js';
import { buildSnapshot, pipelineView, runViewOf, type StatusSources } from './status.js';
import { ensureOperatorTokenFile } from './tokens.js';

/** Data Capture kept on disk: the replay window (30 days by default) with room to spare, and a size cap. */
const CAPTURE_RETENTION = { days: 45, maxBytes: 20 * 1024 ** 3 };

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

  let serving: Serving | undefined;
  let scheduling: ReturnType<typeof startScheduling> | undefined;
  let rollouts: RolloutController | undefined;
  let history: MetricsHistory | undefined;
  try {
    const bus = createEventBus();
    // A full disk must not stop serving: refused writes are reported once, kept and retried.
    const storage = createStorageHealth({ log, file: store.file, onChange: (problem) => bus.publish({ kind: 'storage', storage: problem }) });
    closers.push(() => storage.close());
    const logs = createLogWriter(store, {
      onError: (err) => {
        if (!storage.failed(err)) log.error('logs', `cannot store log lines: ${err.message}`);
      },
      onRecovered: (dropped) => {
        storage.succeeded();
        if (dropped) log.warn('logs', `${dropped.toLocaleString('en-US')} log lines were lost while the database refused writes`);
      },
    });
    closers.push(createLogPersister({ log, writer: logs, bus }));
    ensureOperatorTokenFile(opts.dataDir, store, log);
    closers.push(startMaintenance({ store, log }));

    // Views of pipelines are built from every part (registry, runs, variants, metrics), so the parts
    // report changes here and the daemon publishes one consistent view.
    let sources: StatusSources | undefined;
    const publishPipelines = (names: string[]) => {
      if (!sources) return;
      for (const name of names) {
        const p = sources.registry.get(name);
        if (p) bus.publish({ kind: 'pipeline_updated', pipeline: pipelineView(p, sources) });
      }
    };
    const repo = await startRepoService({
      root: opts.repo,
      store,
      storage,
      log,
      listener: {
        updated: (names) => {
          serving?.refreshRoutes();
          scheduling?.sync();
          publishPipelines(names);
        },
        removed: (name) => {
          serving?.refreshRoutes();
          scheduling?.sync();
          history?.forget(name);
          bus.publish({ kind: 'pipeline_removed', name });
        },
        repoProblems: (problems) => bus.publish({ kind: 'repo_problems', problems }),
      },
    });
    closers.push(() => repo.close());
    const { registry } = repo;
    const metrics = createLiveMetrics();
    const replayProgress = new Map<string, Map<string, { group: string; done: number; total: number | null }>>();
    sources = {
      registry,
      groups: repo.groups,
      store,
      timeScale: opts.timeScale,
      variantMetrics: (pipeline, group, variant) => metricsView(metrics.variant(pipeline, group, variant)),
      replayProgress: (pipeline) => [...(replayProgress.get(pipeline)?.values() ?? [])],
      latency: (pipeline) => pipelineLatency(metrics, pipeline),
      storage: () => storage.problem(),
    };
    const count = registry.list().length;
    log.info('config', `${count} pipeline${count === 1 ? '' : 's'} in force from ${opts.repo}`);

    const executors = createExecutorFactory({ repoConfig: () => registry.repoConfig() });
    const serverBackends = createServerBackends();
    serving = createServing({
      store,
      storage,
      log,
      bus,
      dataDir: opts.dataDir,
      pipelines: () => registry.list().filter((p) => p.config.pipeline.deployment.backend !== 'sagemaker'),
      pipeline: (name) => registry.get(name),
      groupsOf: (name) => repo.groups.get(name).groups,
      backend: (kind) => serverBackends.get(kind),
      onVariantChanged: (pipeline) => publishPipelines([pipeline]),
      onRetired: (pipeline, group, variant) => metrics.forget(pipeline, group, variant),
    });
    closers.push(() => serving?.close());
    await serving.restore();
    const queue = createRunQueue({
      store,
      storage,
      dataDir: opts.dataDir,
      logs,
      log,
      bus,
      repoRoot: opts.repo,
      timeScale: opts.timeScale,
      maxConcurrentRuns: Math.max(2, cpus().length),
      pipeline: (name) => registry.get(name),
      async groups(p) {
        const info = await repo.refreshGroups(p.name);
        if (info.groups.length === 0 && info.error) throw new MlpError('unavailable', `cannot discover groups: ${info.error}`);
        return info.groups;
      },
      executorFor: (p) => executors.forBackend(p.config.pipeline.deployment.backend),
      publishRun(run) {
        bus.publish({ kind: 'run_updated', run: runViewOf(run, store) });
        publishPipelines([run.pipeline]);
      },
      onFinished(run, result) {
        // A successful training run rolls out what it produced, through the gates (DESIGN §1).
        const trained = result.groups.flatMap((g) => (g.version ? [{ group: g.group, version: g.version.version }] : []));
        if (result.status !== 'succeeded' || trained.length === 0) return;
        rollouts!.start(run.pipeline, run.id, trained).catch((err) => log.error('rollout', `cannot start: ${describeError(err)}`, run.pipeline));
      },
    });
    closers.push(() => queue.stop());

    rollouts = createRolloutController({
      store,
      storage,
      log,
      serving,
      metrics,
      policyFor: (name) => {
        const p = registry.get(name);
        return p ? rolloutPolicy(p.config, opts.timeScale) : undefined;
      },
      gates: createGateRunner({
        pipeline: (name) => registry.get(name),
        repoConfig: () => registry.repoConfig(),
        repoRoot: opts.repo,
        serving,
        captureDir: join(opts.dataDir, 'capture'),
        executor: executors.get('local'),
        logs,
        dataChecks: runDataCheckGate,
        onReplayProgress: (pipeline, group, done, total) => {
          const groups = replayProgress.get(pipeline) ?? new Map();
          groups.set(group, { group, done, total });
          replayProgress.set(pipeline, groups);
          publishPipelines([pipeline]); // at most 4 times a second per group (the replay throttles)
        },
        timeScale: opts.timeScale,
        ...(process.env.MLP_PYTHON ? { python: process.env.MLP_PYTHON } : {}),
      }),
      onChanged: (r) => {
        if (r.phase !== 'replaying') replayProgress.delete(r.pipeline);
        publishPipelines([r.pipeline]);
      },
    });
    closers.push(() => rollouts?.close());
    rollouts.recover();
    queue.recover();

    scheduling = startScheduling({ store, log, registry, onEnqueued: () => queue.pump() });
    closers.push(() => scheduling?.stop());

    if (opts.pullIntervalMs !== undefined) {
      const onPulled = async (result: PullResult) => {
        await repo.reload();
        // A merged change to a pipeline's config or code starts a new run of it (DESIGN §3).
        const changed = result.changedFiles.map((f) => resolve(opts.repo, f));
        for (const p of registry.list()) {
          if (p.problems.length || !changed.some((f) => f.startsWith(p.dir + sep))) continue;
          const { run } = store.runs.enqueue({ pipeline: p.name, trigger: 'change', reason: `merged ${result.to.slice(0, 8)}`, gitCommit: result.to });
          log.info('run', `${run.id} queued: a merged change touched the pipeline`, p.name);
        }
        queue.pump();
      };
      const puller = startPulling({
        root: opts.repo,
        intervalMs: opts.pullIntervalMs,
        log,
        onPulled: (r) => void onPulled(r).catch((err) => log.error('pull', `cannot queue runs for ${r.to.slice(0, 8)}: ${describeError(err)}`)),
      });
      closers.push(() => puller.close());
    }

    const capture = createCaptureWriter({
      dir: join(opts.dataDir, 'capture'),
      retention: CAPTURE_RETENTION,
      onError: (err) => log.error('capture', err.message),
      log,
    });
    closers.push(() => capture.close());
    const router = await startRouter({ host: opts.host, port: opts.servePort, table: serving.table, capture, metrics, log });
    closers.push(() => router.close());
    const serveUrl = `http://${urlHost(opts.host)}:${router.port}`;
    closers.push(startMetricsTicker({ metrics, bus }));
    const sampler = startMetricsHistory({
      metrics,
      bus,
      pipelines: () => registry.list().map((p) => p.name),
      variants: (pipeline) => store.variants.live(pipeline).map((v) => ({ group: v.group, variant: `v${v.version}`, role: v.role })),
    });
    history = sampler; // for the repo listener, which forgets a removed pipeline's history
    closers.push(() => sampler.close());
    sources.history = (pipeline) => ({ intervalMs: sampler.intervalMs, points: sampler.points(pipeline) });

    const commands = createCommandService({
      store,
      storage,
      log,
      pipelineExists: (name) => registry.get(name) !== undefined,
      knownPipelines: () => registry.list().map((p) => p.name),
      handlers: createApiHandlers({ store, queue, rollouts, publishRun: (run) => bus.publish({ kind: 'run_updated', run: runViewOf(run, store) }) }),
    });

    const api = await startApiServer({
      host: opts.host,
      port: opts.port,
      log,
      daemon: { version: MLP_VERSION, startedAt, serveUrl },
      handlers: {
        authenticate: (secret) => {
          const token = store.tokens.verify(secret);
          return token ? { token: token.name, role: token.role } : null;
        },
        snapshot: () => buildSnapshot(sources!, Date.now()),
        execute: (cmd, session) => commands.execute(cmd, session),
        tail(pipeline, q) {
          logs.flush(); // lines still in the batch belong to the answer, not to the live events after it
          const lines = store.logs.query({ pipeline, ...(q.sinceMs !== undefined ? { sinceMs: q.sinceMs } : {}), limit: q.limit, from: 'end' });
          if (lines.length === 0 && !registry.get(pipeline)) {
            const known = registry.list().map((p) => p.name);
            throw new MlpError('not_found', `no pipeline named '${pipeline}'${known.length ? ` (known: ${known.join(', ')})` : ''}`);
          }
          return lines;
        },
        subscribe: (listener) => bus.subscribe(listener),
      },
    });
    closers.push(() => api.close());

    return { apiUrl: api.url, serveUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
