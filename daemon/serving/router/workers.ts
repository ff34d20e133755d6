/**
 * The router on several cores (docs/serving.md, "Router workers"): `--serve-workers N` worker
 * processes share one listening socket, nginx's way. The daemon binds it once (Node's cluster with
 * scheduling left to the kernel: every worker accepts on the same socket, no connection passes
 * through the daemon), so a worker that dies takes only its own connections with it.
 *
 * - Routes: every worker keeps a copy of the daemon's route table. Each change goes to every worker
 *   as the data that made it and is acknowledged once in force; `table.inForce()` resolves when all
 *   have, so a rollback's 0% is in force everywhere before the rollout records it. A worker that
 *   does not acknowledge within ACK_TIMEOUT_MS is killed: then it serves nothing.
 * - Metrics: workers send batches of observations; they are replayed into the daemon's LiveMetrics.
 * - Data Capture: each worker writes its own files in the same layout (the writer id in each file
 *   name keeps them apart); the daemon's writer runs retention over all of them.
 * - A worker that exits unasked is logged and started again, with the whole table before it accepts.
 *
 * With one worker the router runs in the daemon's own process, as it always did.
 */
import cluster, { type Worker } from 'node:cluster';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MlpError } from '../../../shared/errors.js';
import type { Logger } from '../../log.js';
import { systemClock } from '../../scheduler/clock.js';
import type { CaptureRetention } from '../capture/writer.js';
import { createMetricsMerge } from '../metrics/relay.js';
import { startRouter, type Router, type RouterOptions } from './router.js';
import { ROUTER_WORKER_ENV, type FromWorker, type RouterWorkerConfig, type ToWorker } from './worker-protocol.js';
import type { MutableRouteTable, RouteChange } from './routes.js';
import type { MetricsSink } from '../types.js';

/** Beyond this many, workers add little (the model servers need the cores too); `--serve-workers` can go higher. */
export const MAX_DEFAULT_SERVE_WORKERS = 8;
/** Below this many cores the router stays in the daemon by default: there, a second router process costs more per request than it adds (docs/serving.md). */
export const MIN_CORES_FOR_WORKERS = 4;
/** Router workers when `--serve-workers` is not given: one per core (at most MAX_DEFAULT_SERVE_WORKERS) from MIN_CORES_FOR_WORKERS cores, else 1. */
export const DEFAULT_SERVE_WORKERS =
  availableParallelism() >= MIN_CORES_FOR_WORKERS ? Math.min(availableParallelism(), MAX_DEFAULT_SERVE_WORKERS) : 1;
/** How long workers gather metrics before sending them: small beside the rollback watch's reaction (docs/rollouts.md). */
const METRICS_INTERVAL_MS = 20;
/** A worker that has not put a route change in force by then is killed (it then serves nothing). */
const ACK_TIMEOUT_MS = 5_000;
/** A worker that dies sooner than this after its start is started again after a growing pause. */
const QUICK_EXIT_MS = 5_000;
const MAX_RESTART_PAUSE_MS = 10_000;

export interface ServingRouterOptions extends Omit<RouterOptions, 'table' | 'metrics' | 'capture'> {
  /** Worker processes; 1: the router runs in this process. */
  workers: number;
  table: MutableRouteTable;
  metrics: MetricsSink;
  captureDir: string;
  retention: CaptureRetention;
  /** The daemon's own capture writer (in-process router; with workers it only runs retention). */
  capture: RouterOptions['capture'];
  log: Logger;
}

/** The model-traffic router of `mlpd start`, on one core or on `workers` processes. */
export async function startServingRouter(opts: ServingRouterOptions): Promise<Router> {
  if (opts.workers > 1) return startWorkers(opts);
  return startRouter(opts);
}

interface Member {
  worker: Worker;
  config: RouterWorkerConfig;
  startedAt: number;
  /** Route changes sent and not yet acknowledged, by seq. */
  waiting: Map<number, { resolve: () => void; timer: NodeJS.Timeout }>;
  seq: number;
  stopReplicating?: () => void;
}

async function startWorkers(opts: ServingRouterOptions): Promise<Router> {
  const { log } = opts;
  const clock = opts.clock ?? systemClock;
  // Every worker accepts on the shared socket itself (nginx's way), instead of the daemon handing connections round.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // No daemon arguments: a worker takes its settings from its environment (ROUTER_WORKER_ENV).
  cluster.setupPrimary({ exec: workerScript(), args: [], serialization: 'advanced' });
  const members = new Set<Member>();
  let closing = false;
  let port = opts.port;
  /**
   * The port workers ask the cluster for. The daemon holds the socket under the port first asked
   * for (0 with `--serve-port 0`), so a restarted worker asks for the same while any worker holds it;
   * when none does, the socket is gone and the port it had is asked for by number.
   */
  let listenPort = opts.port;
  let quickExits = 0;
  let started: { resolve: (port: number) => void; reject: (err: Error) => void } | null = null;
  let listeningCount = 0;

  const fork = (index: number) => {
    if (members.size === 0) listenPort = port;
    const config: RouterWorkerConfig = {
      index,
      host: opts.host,
      port: listenPort,
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
      ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
      captureDir: opts.captureDir,
      retention: opts.retention,
      metricsIntervalMs: METRICS_INTERVAL_MS,
    };
    const worker = cluster.fork({ [ROUTER_WORKER_ENV]: JSON.stringify(config) });
    const member: Member = { worker, config, startedAt: clock.now(), waiting: new Map(), seq: 0 };
    members.add(member);
    const merge = createMetricsMerge(opts.metrics);
    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          member.stopReplicating = opts.table.replicate({ apply: (change) => sendRoutes(member, change) });
          return;
        case 'applied':
          for (const [seq, w] of member.waiting) {
            if (seq > message.seq) break;
            clearTimeout(w.timer);
            member.waiting.delete(seq);
            w.resolve();
          }
          return;
        case 'metrics':
          merge(message.batch);
          return;
        case 'log':
          log[message.level](message.area, message.message, message.pipeline);
          return;
        case 'listening':
          port = message.port;
          if (started === null) log.info('router', `router worker ${index} (pid ${worker.process.pid}) is back, with the routes in force`);
          else if (++listeningCount === opts.workers) started.resolve(port);
          return;
        case 'listen_failed':
          if (started === null && !closing)
            log.error('router', `router worker ${index} (pid ${worker.process.pid}) cannot listen: ${message.message}`);
          started?.reject(new MlpError('unavailable', message.message));
          started = null;
          return;
      }
    });
    // A message sent as the worker exits (it could not listen, it was killed) fails with EPIPE on the channel;
    // without a listener that error would end mlpd. The exit handler below settles what the worker left waiting.
    worker.on('error', (err) => log.warn('router', `router worker ${index}: ${err.message}`));
    worker.on('exit', (code, signal) => {
      members.delete(member);
      member.stopReplicating?.();
      // A worker that is gone serves nothing: what it had not acknowledged is in force as far as it matters.
      for (const w of member.waiting.values()) {
        clearTimeout(w.timer);
        w.resolve();
      }
      member.waiting.clear();
      if (closing) return;
      if (started !== null) {
        started.reject(
          new MlpError('unavailable', `router worker ${index} exited while starting (${signal ?? `code ${code}`}); see the log above`),
        );
        started = null;
        return;
      }
      const lived = clock.now() - member.startedAt;
      quickExits = lived < QUICK_EXIT_MS ? quickExits + 1 : 0;
      const pause = quickExits === 0 ? 0 : Math.min(MAX_RESTART_PAUSE_MS, 100 * 2 ** quickExits);
      log.error(
        'router',
        `router worker ${index} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}); its connections were cut, requests in flight failed; starting it again${pause ? ` in ${pause} ms` : ''}`,
      );
      setTimeout(() => {
        if (!closing) fork(index);
      }, pause).unref();
    });
  };

  const sendRoutes = (member: Member, change: RouteChange): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!member.worker.isConnected()) return resolve();
      const seq = ++member.seq;
      const timer = setTimeout(() => {
        log.error(
          'router',
          `router worker ${member.config.index} (pid ${member.worker.process.pid}) did not apply a route change within ${ACK_TIMEOUT_MS} ms: stopping it`,
        );
        member.worker.process.kill('SIGKILL');
      }, ACK_TIMEOUT_MS);
      timer.unref();
      member.waiting.set(seq, { resolve, timer });
      member.worker.send({ type: 'routes', seq, change } satisfies ToWorker);
    });

  const stopAll = async () => {
    closing = true;
    const exits = [...members].map(
      (m) => new Promise<void>((resolve) => (m.worker.isDead() ? resolve() : m.worker.once('exit', () => resolve()))),
    );
    for (const m of members) if (m.worker.isConnected()) m.worker.send({ type: 'close' } satisfies ToWorker);
    const drainMs = opts.limits?.drainTimeoutMs ?? 10_000;
    const killer = setTimeout(() => {
      for (const m of members) m.worker.process.kill('SIGKILL');
    }, drainMs + 2_000);
    await Promise.all(exits);
    clearTimeout(killer);
  };

  try {
    await new Promise<number>((resolve, reject) => {
      started = { resolve, reject };
      for (let i = 1; i <= opts.workers; i++) fork(i);
    });
  } catch (err) {
    await stopAll();
    throw err;
  } finally {
    started = null;
  }
  log.info('serving', `router: ${opts.workers} worker processes on port ${port}`);
  return { port, close: stopAll };
}

/** The worker's module beside this one: compiled JavaScript in dist, TypeScript under tsx (tests). */
function workerScript(): string {
  const js = fileURLToPath(new URL('./worker.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('./worker.ts', import.meta.url));
}
