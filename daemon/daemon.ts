/**
 * The composition root of `mlpd start`: wires the store, the repo (registry, watcher, pull), the
 * run queue and scheduler, the API and the model-traffic router, and owns start-up and shutdown
 * order. Start-up takes the data dir's lock, then stops what a killed predecessor left running.
 * Shutdown runs the closers in reverse: listeners first, then work in flight, then the store.
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { trainingBackend } from '../shared/config/backends.js';
import { pipelineTargets, targetLabel } from '../shared/config/notify.js';
import { describeError, MlpError } from '../shared/errors.js';
import { DEFAULT_MAX_PARALLEL_CLOUD } from '../shared/config/schema.js';
import type { CapacityView } from '../shared/protocol.js';
import { MLP_VERSION } from '../shared/version.js';
import { createApiHandlers } from './api/handlers.js';
import { childrenDir, createChildLedger } from './children/ledger.js';
import { lockDataDir } from './children/lock.js';
import { reapLeftovers, type ReapedChild } from './children/reaper.js';
import { createRolloutController, type RolloutController } from './rollout/controller.js';
import { runDataCheckGate } from './rollout/dataChecks.js';
import { createGateRunner } from './rollout/gates.js';
import { rolloutPolicy } from './rollout/policy.js';
import { startApiServer } from './api/server.js';
import { startCapacityEvents } from './capacity.js';
import { createCommandService } from './commands.js';
import { createEventBus } from './events.js';
import { createExecutorFactory } from './executors/factory.js';
import type { Logger } from './log.js';
import { createLogPersister } from './logPersister.js';
import { createLogWriter } from './logWriter.js';
import { startMaintenance } from './maintenance.js';
import { isLoopback, urlHost } from './net.js';
import { startDeliveryWorker } from './notify/delivery.js';
import { createNotificationOutbox } from './notify/outbox.js';
import { retryPolicy } from './notify/retry.js';
import { notificationsViewOf, unsetProblem } from './notify/view.js';
import { createLocalPlatform } from './platform/local.js';
import { selectPlatforms } from './platform/selection.js';
import { trafficView } from './platform/trafficView.js';
import { checkPullable, startPulling, type PullResult } from './repo/pull.js';
import { startRepoService } from './repo/service.js';
import { moveLegacyGroupFolders } from './runs/legacy-folders.js';
import { createRunQueue } from './runs/queue.js';
import { startScheduling } from './scheduler/wiring.js';
import { systemClock } from './scheduler/clock.js';
import { createCaptureWriter } from './serving/capture.js';
import { createLiveMetrics } from './serving/metrics.js';
import { metricsView, pipelineLatency, startMetricsTicker } from './serving/metricsEvents.js';
import { startMetricsHistory, type MetricsHistory } from './serving/metricsHistory.js';
import { startServingRouter } from './serving/router-workers.js';
import { createServerBackends } from './serving/backends.js';
import { createServing, DEFAULT_STARTING_AT_ONCE, type Serving } from './serving/service.js';
import { createStorageHealth } from './storageHealth.js';
import { openStore, type Store } from './store/db.js';
import { buildFullSnapshot, buildSnapshot, pipelineView, runViewOf, type StatusSources } from './status.js';
import { startFleetFeed } from './fleetFeed.js';
import { summaryOf } from '../shared/fleetSummary.js';
import { ensureOperatorTokenFile } from './tokens.js';

/** What a killed daemon left running gets this long between SIGTERM and SIGKILL (as a step past its limit). */
const REAP_GRACE_MS = 5_000;

/** Runs on this machine at once when mlp.yaml does not say: one per core, at least 2. */
const DEFAULT_MAX_PARALLEL = Math.max(2, cpus().length);


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
  const closers: (() => Promise<void> | void)[] = [() => lock.release(), () => store.close()];
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
  let checkNotifyTargets: ((names: string[]) => void) | undefined;
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
    for (const line of moveLegacyGroupFolders(opts.dataDir)) log.warn('upgrade', line);
    closers.push(startMaintenance({ store, log }));
    const reaped = await reapPredecessorsChildren(opts.dataDir, log);
    const ledger = createChildLedger(childrenDir(opts.dataDir), {
      // Serving and runs go on without a record (a full disk); the next start finds such children by their environment.
      onWriteError: (err) => log.warn('daemon', `cannot record a child process in ${childrenDir(opts.dataDir)}: ${err.message}`),
    });
    // Runs after every closer pushed below (they run in reverse): children stopped, their records go.
    closers.push(() => ledger.settled());

    // Views of pipelines are built from every part (registry, runs, variants, metrics), so the parts
    // report changes here and the daemon publishes one consistent view.
    let sources: StatusSources | undefined;
    const feed = startFleetFeed({
      summary: (name) => {
        const p = sources?.registry.get(name);
        return p && sources ? summaryOf(pipelineView(p, sources)) : undefined;
      },
      publish: (event) => bus.publish(event),
      now: Date.now,
    });
    closers.push(() => feed.close());
    const publishPipelines = (names: string[]) => feed.changed(names);
    // Live traffic moves the fleet list's latency and candidate error rate. A summary costs a full view, so
    // traffic refreshes it with each history point (5 s), and with each metrics tick only while a rollout
    // is under way, whose candidate's error rate people watch.
    const unwatchTraffic = bus.subscribe((event) => {
      if (event.kind === 'history') feed.changed(event.pipelines.map((x) => x.pipeline));
      else if (event.kind === 'metrics') feed.changed([...new Set(event.variants.map((v) => v.pipeline))].filter((name) => store.rollouts.active(name)));
    });
    closers.push(() => void unwatchTraffic());
    const repo = await startRepoService({
      root: opts.repo,
      store,
      storage,
      log,
      listener: {
        updated: (names) => {
          serving?.refreshRoutes(names);
          scheduling?.sync();
          checkNotifyTargets?.(names);
          publishPipelines(names);
        },
        removed: (name) => {
          serving?.refreshRoutes([name]);
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
      replayProgress: (pipeline) => [...(replayProgress.get(pipeline)?.values() ?? [])],
      latency: (pipeline) => pipelineLatency(metrics, pipeline),
      storage: () => storage.problem(),
    };
    const count = registry.list().length;
    log.info('config', `${count} pipeline${count === 1 ? '' : 's'} in force from ${opts.repo}`);

    // Notifications (docs/notifications.md): the outbox is written with the changes that cause them; the worker delivers.
    const targetsFor = (name: string) => pipelineTargets(registry.repoConfig()?.notify ?? [], registry.get(name)?.config.pipeline.notify ?? []);
    // `mlp validate` runs where mlpd's environment is not, so a ${VAR} that is not set is said here, when the config comes into force.
    checkNotifyTargets = (names) => {
      for (const name of names) {
        for (const t of targetsFor(name)) {
          const problem = unsetProblem(t.url, process.env);
          if (problem) log.warn('notify', `target ${targetLabel(t.url, process.env)}: ${problem}`, name);
        }
      }
    };
    checkNotifyTargets(registry.list().map((p) => p.name));
    const deliveries = startDeliveryWorker({ store, storage, log, env: process.env, retry: retryPolicy(opts.timeScale), onChanged: (name) => publishPipelines([name]) });
    closers.push(() => deliveries.close());
    const outbox = createNotificationOutbox({ store, targetsFor, onQueued: () => deliveries.poke() });
    sources.notifications = (name) => notificationsViewOf(store, name, targetsFor(name), process.env);

    // Where the router's Data Capture goes, and where replay reads it back.
    const captureDir = join(opts.dataDir, 'capture');
    const executors = createExecutorFactory({ repoConfig: () => registry.repoConfig(), ledger });
    const serverBackends = createServerBackends({ ledger, warn: (pipeline, message) => log.warn('serve', message, pipeline) });
    serving = createServing({
      store,
      storage,
      log,
      bus,
      dataDir: opts.dataDir,
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
    // Status shows a SageMaker variant's CloudWatch figures where it shows the router's for its own.
    sources.variantMetrics = (pipeline, group, variant) =>
      metricsView(metrics.variant(pipeline, group, variant)) ?? trafficView(platform.variantTraffic(pipeline, group, variant));
    closers.push(() => platform.close());
    // Until the servers are restored (after the API listens), each group's route says its server is starting.
    serving.refreshRoutes();
    const runLimits = () => {
      const runs = registry.repoConfig()?.runs;
      return { here: runs?.max_parallel ?? DEFAULT_MAX_PARALLEL, cloud: runs?.max_parallel_cloud ?? DEFAULT_MAX_PARALLEL_CLOUD };
    };
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
      async groups(p) {
        const info = await repo.refreshGroups(p.name);
        if (info.groups.length === 0 && info.error) throw new MlpError('unavailable', `cannot discover groups: ${info.error}`);
        if (info.groups.length === 0 && info.refused.length) throw new MlpError('check_failed', `no group to run: ${info.refused.join('; ')}`);
        return info.groups;
      },
      executorFor: (p) => executors.forBackend(trainingBackend(p.config.pipeline)),
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
    const capacity = (): CapacityView => {
      const load = queue.load();
      const limits = runLimits();
      return {
        servers: serving!.servers(),
        runs: { running: load.running.here, max: limits.here, runningCloud: load.running.cloud, maxCloud: limits.cloud, queued: load.queued },
      };
    };
    sources.capacity = capacity;
    closers.push(startCapacityEvents({ read: capacity, bus }));

    rollouts = createRolloutController({
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
        clock: systemClock,
        ledger,
        ...(process.env.MLP_PYTHON ? { python: process.env.MLP_PYTHON } : {}),
      }),
      onChanged: (r) => {
        if (r.phase !== 'replaying') replayProgress.delete(r.pipeline);
        publishPipelines([r.pipeline]);
      },
    });
    closers.push(() => rollouts?.close());
    queue.recover(reaped);

    scheduling = startScheduling({ store, log, registry, onEnqueued: () => queue.pump() });
    closers.push(() => scheduling?.stop());

    if (opts.pullIntervalMs !== undefined) {
      const onPulled = async (result: PullResult) => {
        await repo.reload();
        // A merged change to a pipeline's config or code starts a new run of it (DESIGN §3).
        const changed = result.changedFiles.map((f) => resolve(opts.repo, f));
        for (const p of registry.list()) {
          if (p.problems.length || !changed.some((f) => f.startsWith(p.dir + sep))) continue;
          if (p.config.pipeline.orchestrator === 'airflow') continue; // its DAG trains it, on Airflow's schedule
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
      dir: captureDir,
      retention: CAPTURE_RETENTION,
      onError: (err) => log.error('capture', err.message),
      log,
    });
    closers.push(() => capture.close());
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
    closers.push(() => router.close());
    const serveUrl = `http://${urlHost(opts.host)}:${router.port}`;
    if (opts.serveToken !== undefined) log.info('serving', `${serveUrl} requires the serving token (MLP_SERVE_TOKEN) on every invocation`);
    else if (!isLoopback(opts.host)) {
      log.warn('serving', `${serveUrl} is reachable from the network and has no authentication: anyone who reaches it can call every model; set MLP_SERVE_TOKEN`);
    }
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
      handlers: createApiHandlers({
        store,
        queue,
        rollouts,
        publishRun: (run) => {
          bus.publish({ kind: 'run_updated', run: runViewOf(run, store) });
          publishPipelines([run.pipeline]);
        },
      }),
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
        sessionValid: (session) => store.tokens.isLive(session.token),
        snapshot: () => buildSnapshot(sources!, Date.now()),
        fullSnapshot: (id) => buildFullSnapshot(sources!, Date.now(), id),
        detail(name) {
          const p = registry.get(name);
          if (!p) throw new MlpError('not_found', `no pipeline named '${name}' in force`);
          return pipelineView(p, sources!);
        },
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

/** Stops what the previous daemon on this data dir left running when it was killed, and says so. */
async function reapPredecessorsChildren(dataDir: string, log: Logger): Promise<ReapedChild[]> {
  const reaped = await reapLeftovers({
    dir: childrenDir(dataDir),
    graceMs: REAP_GRACE_MS,
    removeContainers: async (label, graceMs) => (await import('./children/containers.js')).removeLabelledContainers(label, graceMs),
    warn: (message) => log.warn('daemon', message),
  });
  for (const { entry } of reaped.filter((c) => c.outcome === 'stopped')) {
    const where = entry.kind === 'process' && entry.pid !== undefined ? ` (pid ${entry.pid})` : '';
    log.warn('daemon', `stopped ${entry.purpose.what}${where}: the previous mlpd stopped without stopping it`);
  }
  return reaped;
}
