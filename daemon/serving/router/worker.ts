/**
 * A router worker process (docs/serving.md, "Router workers"): the daemon's router on one core. It
 * accepts from the listening socket it shares with the other workers, routes with its own copy of
 * the route table (every change comes from the daemon and is acknowledged once in force), writes
 * its own Data Capture files beside theirs, and sends its live metrics to the daemon in batches.
 *
 * It exits when the daemon says so, or when the daemon is gone (its IPC channel closes). Ctrl-C in
 * a terminal reaches it too; the daemon decides when it stops.
 */
import { describeError } from '../../../shared/errors.js';
import type { Logger, LogLevel } from '../../log.js';
import { createCaptureWriter } from '../capture/writer.js';
import { createMetricsRelay } from '../metrics/relay.js';
import { startRouter, type WorkerRouter } from './router.js';
import { ROUTER_WORKER_ENV, type FromWorker, type RouterWorkerConfig, type ToWorker } from './worker-protocol.js';
import { createRouteTable } from './routes.js';

const config = JSON.parse(process.env[ROUTER_WORKER_ENV] ?? 'null') as RouterWorkerConfig | null;
if (config === null || typeof process.send !== 'function') {
  process.stderr.write(`router-worker: started without ${ROUTER_WORKER_ENV} or an IPC channel; mlpd starts it (--serve-workers)\n`);
  process.exit(2);
}
delete process.env[ROUTER_WORKER_ENV]; // it holds the serving token

const send = (message: FromWorker) => {
  if (process.connected) process.send!(message);
};
const log = workerLogger(send);
const table = createRouteTable();
const metrics = createMetricsRelay((batch) => send({ type: 'metrics', batch }), config.metricsIntervalMs);
const capture = createCaptureWriter({
  dir: config.captureDir,
  retention: config.retention,
  sweeps: false,
  onError: (err) => log.error('capture', err.message),
  log,
});
let router: WorkerRouter | undefined;
let listening: Promise<void> | undefined;
let closing = false;

process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('message', (message: ToWorker) => {
  if (message.type === 'routes') {
    table.apply(message.change);
    send({ type: 'applied', seq: message.seq });
    // Accepting only once the routes are in: a restarted worker must not answer 404 for a pipeline that exists.
    listening ??= listen();
  } else if (message.type === 'close') void close(0);
});
// The daemon is gone: nobody routes changes or collects metrics any more.
process.on('disconnect', () => void close(0));
process.on('uncaughtException', (err) => {
  log.error('router', `worker ${config.index} (pid ${process.pid}) failed and exits: ${err.stack ?? describeError(err)}`);
  router?.failInFlight(`the router worker that held this request failed: ${err.message}`);
  metrics.flush();
  setTimeout(() => process.exit(1), 50).unref();
});
send({ type: 'ready' });

async function listen(): Promise<void> {
  try {
    router = await startRouter({
      host: config!.host,
      port: config!.port,
      table,
      capture,
      metrics,
      log,
      ...(config!.token !== undefined ? { token: config!.token } : {}),
      ...(config!.maxBodyBytes !== undefined ? { maxBodyBytes: config!.maxBodyBytes } : {}),
      ...(config!.limits !== undefined ? { limits: config!.limits } : {}),
    });
    send({ type: 'listening', port: router.port });
  } catch (err) {
    send({ type: 'listen_failed', message: describeError(err) });
    closing = true; // nothing was accepted: nothing to drain
    await capture.close();
    process.exit(1);
  }
}

async function close(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  await listening?.catch(() => {});
  await router?.close();
  metrics.close();
  await capture.close();
  process.exit(code);
}

function workerLogger(sendLine: (m: FromWorker) => void): Logger {
  const line = (level: LogLevel) => (area: string, message: string, pipeline?: string) =>
    sendLine({ type: 'log', level, area, message, ...(pipeline !== undefined ? { pipeline } : {}) });
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), subscribe: () => () => {} };
}
