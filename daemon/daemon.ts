/**
 * The composition root of `mlpd start`: it builds each part and wires it to the others; what a part
 * does lives in the part's module. Parts are built in the order they need each other, so none is
 * bound late: the data dir's lock and the store; storage health and the log; what a killed
 * predecessor left running is stopped; the repo (the pipelines in force), whose changes the later
 * parts subscribe to as they are built; notifications; serving and its platforms; the rollout
 * controller, then the run queue whose finished runs it rolls out; scheduling and pulling; the
 * router; then, every part existing, the pipelines' views, the fleet feed and the API. Model servers
 * are restored and rollouts resumed behind the API. Parts say which pipelines changed through
 * pipelineChanges.ts, which the fleet feed listens to once it can build their views.
 * Shutdown goes by the stages of shutdown.ts (intake first, then work in flight, then the store),
 * not by this order.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { trainingBackend } from '../shared/config/backends.js';
import { DEFAULT_RUNS_NICE, DEFAULT_STARTING_NICE } from '../shared/config/schema.js';
import { MLP_VERSION } from '../shared/version.js';
import { createApiHandlers } from './api/handlers.js';
import { childrenDir, createChildLedger } from './children/ledger.js';
import { lockDataDir } from './children/lock.js';
import { reapPredecessorsChildren } from './children/reaper.js';
import { rollOutWhatRunsTrain } from './rollout/after-run.js';
import { createRolloutController } from './rollout/controller.js';
import { runDataCheckGate } from './rollout/data-checks.js';
import { createGateRunner } from './rollout/gates.js';
import { rolloutPolicy } from './rollout/policy.js';
import { createReplayProgress } from './rollout/replay-progress.js';
import { createApiReads } from './api/reads.js';
import { startApiServer } from './api/server.js';
import { capacityOf, startCapacityEvents } from './capacity.js';
import { createCommandService } from './commands.js';
import { createEventBus } from './events.js';
import { createExecutorFactory } from './executors/factory.js';
import { createLocalExecutor } from './executors/local.js';
import type { Logger } from './log.js';
import { createLogPersister } from './log-persister.js';
import { createLogWriter, reportToStorageHealth } from './log-writer.js';
import { startMaintenance } from './maintenance.js';
import { urlHost } from './net.js';
import { startDeliveryWorker } from './notify/delivery.js';
import { createNotificationOutbox } from './notify/outbox.js';
import { retryPolicy } from './notify/retry.js';
import { notifyTargets } from './notify/targets.js';
import { notificationsViewOf } from './notify/view.js';
import { createLocalPlatform } from './platform/local.js';
import { selectPlatforms } from './platform/selection.js';
import { trafficView } from './platform/traffic-view.js';
import { checkPullable, startPulling } from './repo/pull.js';
import { startRepoService } from './repo/service.js';
import { moveLegacyGroupFolders } from './runs/legacy-folders.js';
import { runsOnMerge } from './runs/merged-changes.js';
import { runLimitsOf } from './runs/fairness.js';
import { createRunQueue } from './runs/queue.js';
import { startScheduling } from './scheduler/wiring.js';
import { createShutdown } from './shutdown.js';
import { createCaptureWriter } from './serving/capture/writer.js';
import { createLiveMetrics } from './serving/metrics/live-metrics.js';
import { metricsView, pipelineLatency, startMetricsTicker } from './serving/metrics/events.js';
import { startMetricsHistory } from './serving/metrics/history.js';
import { startServingRouter } from './serving/router/workers.js';
import { createServerBackends } from './serving/servers/backends.js';
import { createServing, DEFAULT_STARTING_AT_ONCE } from './serving/service.js';
import { sayServingAccess } from './serving-access.js';
import { createStorageHealth } from './storage-health.js';
import { groupsToRun } from './warehouse/directory.js';
import { systemClock } from './scheduler/clock.js';
import { openStore, type Store } from './store/db.js';
import type { Run } from './store/runs.js';
import { runViewOf, summariesOf, type StatusSources } from './status.js';
import { startFleetFeed } from './fleet-feed.js';
import { summariesMovedBy } from './fleet-traffic.js';
import { createPipelineChanges } from './pipeline-changes.js';
import { ensureOperatorTokenFile } from './tokens.js';

/** Data Capture kept on disk: the replay window (30 days by default) with room to spare, and a size cap. */
const CAPTURE_RETENTION = { days: 45, maxBytes: 20 * 1024 ** 3 };

export interface DaemonOptions {
  repo: string;
  dataDir: string;
  host: string;
  port: number;
  servePort: number;
  /** Router worker processes (`--serve-workers`); 1: the router runs in the daemon's process. */
  serveWorkers: number;
  /** MLP_SERVE_TOKEN: the bearer token the router requires (absent: the router is open). */
  serveToken?: string;
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

  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const lock = lockDataDir(opts.dataDir);
  let store: Store;
  try {
    store = openStore(opts.dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  const shutdown = createShutdown(log);
  shutdown.add('store', () => lock.release());
  shutdown.add('store', () => store.close());
  const stop = () => shutdown.stop();

  try {
    const bus = createEventBus();
    // A full disk must not stop serving: refused writes are reported once, kept and retried.
    const storage = createStorageHealth({
      log,
      file: store.file,
      onChange: (problem) => bus.publish({ kind: 'storage', storage: problem }),
    });
    shutdown.add('housekeeping', () => storage.close());
    const logs = createLogWriter(store, reportToStorageHealth(storage, log));
    shutdown.add('housekeeping', createLogPersister({ log, writer: logs, bus }));
    ensureOperatorTokenFile(opts.dataDir, store, log);
    for (const line of moveLegacyGroupFolders(opts.dataDir)) log.warn('upgrade', line);
    shutdown.add('housekeeping', startMaintenance({ store, log }));
    const reaped = await reapPredecessorsChildren(opts.dataDir, log);
    const ledger = createChildLedger(childrenDir(opts.dataDir), {
      // Serving and runs go on without a record (a full disk); the next start finds such children by their environment.
      onWriteError: (err) => log.warn('daemon', `cannot record a child process in ${childrenDir(opts.dataDir)}: ${err.message}`),
    });
    shutdown.add('children', () => ledger.settled());

    // Every part says which pipelines it changed; the fleet feed, built once they all exist, publishes them.
    const changes = createPipelineChanges();
    const publishPipelines = (names: string[]) => changes.changed(names);
    // A run's progress goes to clients on its own and in its pipeline's view.
    const publishRun = (run: Run) => {
      bus.publish({ kind: 'run_updated', run: runViewOf(run, store) });
      publishPipelines([run.pipeline]);
    };
    const repo = await startRepoService({ root: opts.repo, store, storage, log });
    shutdown.add('repo', () => repo.close());
    // Each part below subscribes to the repo's changes once it exists.
    repo.subscribe({
      updated: publishPipelines,
      removed: (name) => bus.publish({ kind: 'pipeline_removed', name }),
      repoProblems: (problems) => bus.publish({ kind: 'repo_problems', problems }),
    });
    const { registry } = repo;
    const metrics = createLiveMetrics();
    const replayProgress = createReplayProgress({ onChanged: (pipeline) => publishPipelines([pipeline]) });
    const count = registry.list().length;
    log.info('config', `${count} pipeline${count === 1 ? '' : 's'} in force from ${opts.repo}`);

    // Notifications (docs/notifications.md): the outbox is written with the changes that cause them; the worker delivers.
    const targets = notifyTargets({ registry, log, env: process.env });
    targets.checkEnvironment(registry.list().map((p) => p.name));
    repo.subscribe({ updated: (names) => targets.checkEnvironment(names) });
    const deliveries = startDeliveryWorker({
      store,
      storage,
      log,
      env: process.env,
      retry: retryPolicy(opts.timeScale),
      onChanged: (name) => publishPipelines([name]),
    });
    shutdown.add('deliveries', () => deliveries.close());
    const outbox = createNotificationOutbox({ store, targetsFor: (name) => targets.of(name), onQueued: () => deliveries.poke() });

    // Where the router's Data Capture goes, and where replay reads it back.
    const captureDir = join(opts.dataDir, 'capture');
    const executors = createExecutorFactory({
      repoConfig: () => registry.repoConfig(),
      ledger,
      nice: () => registry.repoConfig()?.runs?.nice ?? DEFAULT_RUNS_NICE,
    });
    const serverBackends = createServerBackends({
      ledger,
      warn: (pipeline, message) => log.warn('serve', message, pipeline),
      startingNice: () => registry.repoConfig()?.serving?.starting_nice ?? DEFAULT_STARTING_NICE,
    });
    const serving = createServing({
      store,
      storage,
      log,
      bus,
      dataDir: opts.dataDir,
      clock: systemClock,
      // Every pipeline: one on SageMaker still has its router-served variants while it moves there, and afterwards
      // its groups answer 503 naming their endpoint (docs/serving.md, "Moving a live group").
      pipelines: () => registry.list(),
      pipeline: (name) => registry.get(name),
      startingAtOnce: () => registry.repoConfig()?.serving?.starting_at_once ?? DEFAULT_STARTING_AT_ONCE,
      maxServers: () => registry.repoConfig()?.serving?.max_servers,
      groupsOf: (name) => repo.groups.get(name).groups,
      backend: (kind) => serverBackends.get(kind),
      onVariantChanged: (pipeline) => publishPipelines([pipeline]),
      onRetired: (pipeline, group, variant) => metrics.forget(pipeline, group, variant),
    });
    const platform = selectPlatforms({
      backendOf: (name) => registry.get(name)?.config.pipeline.deployment.backend,
      liveVariants: (pipeline) => store.variants.live(pipeline),
      local: createLocalPlatform({ serving, metrics, captureDir }),
      loadSageMaker: async () =>
        (await import('./platform/sagemaker/platform.js')).createSageMakerPlatform({
          store,
          log,
          dataDir: opts.dataDir,
          pipeline: (name) => registry.get(name),
          aws: () => {
            const aws = registry.repoConfig()?.aws;
            return aws ? { bucket: aws.bucket, roleArn: aws.role_arn, region: aws.region } : null;
          },
          timeScale: opts.timeScale,
          onVariantChanged: (pipeline) => publishPipelines([pipeline]),
        }),
    });
    shutdown.add('platform', () => platform.close());
    // Until the servers are restored (after the API listens), each group's route says its server is starting.
    serving.refreshRoutes();
    repo.subscribe({ updated: (names) => serving.refreshRoutes(names), removed: (name) => serving.refreshRoutes([name]) });
    const rollouts = createRolloutController({
      store,
      storage,
      log,
      clock: systemClock,
      outbox,
      platform,
      policyFor: (name) => {
        const p = registry.get(name);
        return p ? rolloutPolicy(p.config, opts.timeScale, registry.repoConfig()) : undefined;
      },
      gates: createGateRunner({
        pipeline: (name) => registry.get(name),
        repoConfig: () => registry.repoConfig(),
        repoRoot: opts.repo,
        platform,
        // At the daemon's priority, not runs.nice: a rollout waits on its integration tests with a deadline,
        // and they test a candidate that serves at the daemon's priority too.
        executor: createLocalExecutor({ ledger }),
        logs,
        dataChecks: runDataCheckGate,
        onReplayProgress: (pipeline, group, done, total) => replayProgress.report(pipeline, group, done, total),
        timeScale: opts.timeScale,
        clock: systemClock,
        ledger,
        ...(process.env.MLP_PYTHON ? { python: process.env.MLP_PYTHON } : {}),
      }),
      onChanged: (r) => {
        replayProgress.rolloutChanged(r);
        publishPipelines([r.pipeline]);
      },
    });
    shutdown.add('rollouts', () => rollouts.close());
    // Counted once: os.cpus() reads /proc/cpuinfo, and the limits are asked at every status and queue change.
    const cores = availableParallelism();
    const runLimits = () => runLimitsOf(registry.repoConfig()?.runs, cores);
    const queue = createRunQueue({
      store,
      storage,
      dataDir: opts.dataDir,
      logs,
      log,
      bus,
      repoRoot: opts.repo,
      timeScale: opts.timeScale,
      limits: runLimits,
      outbox,
      pipeline: (name) => registry.get(name),
      groups: async (p) => groupsToRun(await repo.refreshGroups(p.name)),
      executorFor: (p) => executors.forBackend(trainingBackend(p.config.pipeline)),
      publishRun,
      onFinished: rollOutWhatRunsTrain({ rollouts, log }),
    });
    shutdown.add('runs', () => queue.stop());
    const capacity = () => capacityOf(serving.servers(), queue.load(), runLimits());
    shutdown.add('views', startCapacityEvents({ read: capacity, bus }));

    queue.recover(reaped);

    const scheduling = startScheduling({ store, log, registry, onEnqueued: () => queue.pump() });
    shutdown.add('intake', () => scheduling.stop());
    repo.subscribe({ updated: () => scheduling.sync(), removed: () => scheduling.sync() });

    if (opts.pullIntervalMs !== undefined) {
      const puller = startPulling({
        root: opts.repo,
        intervalMs: opts.pullIntervalMs,
        log,
        onPulled: runsOnMerge({
          root: opts.repo,
          store,
          log,
          reload: () => repo.reload(),
          pipelines: () => registry.list(),
          pump: () => queue.pump(),
        }),
      });
      shutdown.add('intake', () => puller.close());
    }

    const capture = createCaptureWriter({
      dir: captureDir,
      retention: CAPTURE_RETENTION,
      onError: (err) => log.error('capture', err.message),
      log,
    });
    shutdown.add('capture', () => capture.close());
    const router = await startServingRouter({
      workers: opts.serveWorkers,
      host: opts.host,
      port: opts.servePort,
      table: serving.table,
      capture,
      captureDir,
      retention: CAPTURE_RETENTION,
      metrics,
      log,
      ...(opts.serveToken !== undefined ? { token: opts.serveToken } : {}),
    });
    shutdown.add('intake', () => router.close());
    const serveUrl = `http://${urlHost(opts.host)}:${router.port}`;
    sayServingAccess(log, { serveUrl, host: opts.host, token: opts.serveToken });
    shutdown.add('views', startMetricsTicker({ metrics, bus }));
    const sampler = startMetricsHistory({
      metrics,
      bus,
      pipelines: () => registry.list().map((p) => p.name),
      variants: (pipeline) => store.variants.live(pipeline).map((v) => ({ group: v.group, variant: `v${v.version}`, role: v.role })),
    });
    shutdown.add('views', () => sampler.close());
    repo.subscribe({ removed: (name) => sampler.forget(name) });

    // A pipeline's view is built from every part (registry, runs, rollouts, variants, metrics), now that they all exist.
    const sources: StatusSources = {
      registry,
      groups: repo.groups,
      store,
      timeScale: opts.timeScale,
      replayProgress: (pipeline) => replayProgress.of(pipeline),
      latency: (pipeline) => pipelineLatency(metrics, pipeline),
      storage: () => storage.problem(),
      notifications: (name, sent) => notificationsViewOf(sent, targets.of(name), process.env),
      // Status shows a SageMaker variant's CloudWatch figures where it shows the router's for its own (the
      // router's variant without traffic has none: asking the platform would look its variant up again).
      variantMetrics: (pipeline, group, variant, backend) =>
        metricsView(metrics.variant(pipeline, group, variant)) ??
        (backend === 'sagemaker' ? trafficView(platform.variantTraffic(pipeline, group, variant)) : null),
      capacity,
      history: (pipeline) => ({ intervalMs: sampler.intervalMs, points: sampler.points(pipeline) }),
    };
    const feed = startFleetFeed({
      summaries: (names) =>
        summariesOf(
          names.flatMap((name) => registry.get(name) ?? []),
          sources,
        ),
      publish: (event) => bus.publish(event),
      now: Date.now,
    });
    shutdown.add('views', () => feed.close());
    shutdown.add(
      'views',
      changes.subscribe((names) => feed.changed(names)),
    );
    const unwatchTraffic = bus.subscribe((event) =>
      feed.changed(summariesMovedBy(event, (name) => store.rollouts.active(name) !== undefined)),
    );
    shutdown.add('views', () => void unwatchTraffic());

    const commands = createCommandService({
      store,
      storage,
      log,
      pipelineExists: (name) => registry.get(name) !== undefined,
      knownPipelines: () => registry.list().map((p) => p.name),
      handlers: createApiHandlers({
        store,
        queue,
        rollouts,
        publishRun,
      }),
    });

    const api = await startApiServer({
      host: opts.host,
      port: opts.port,
      log,
      daemon: { version: MLP_VERSION, startedAt, serveUrl },
      handlers: {
        ...createApiReads({ sources, logs }),
        execute: (cmd, session) => commands.execute(cmd, session),
        subscribe: (listener) => bus.subscribe(listener),
      },
    });
    shutdown.add('intake', () => api.close());

    // The API answers first, whatever the fleet; the model servers come back behind it, a few at a time,
    // and active rollouts go on once theirs are back.
    await platform.restore();
    rollouts.recover();

    return { apiUrl: api.url, serveUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
