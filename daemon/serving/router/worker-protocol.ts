/** The messages between the daemon and its router workers (workers.ts, worker.ts). */
import type { LogLevel } from '../../log.js';
import type { CaptureRetention } from '../capture/writer.js';
import type { MetricsBatch } from '../metrics/relay.js';
import type { RouterLimits } from './router.js';
import type { RouteChange } from './routes.js';

/** What a worker is started with, in its environment (ROUTER_WORKER_ENV) as JSON. */
export interface RouterWorkerConfig {
  /** The worker's number, 1.., for log lines. */
  index: number;
  host: string;
  /** The port asked of the cluster: the same for every worker, so that all share one socket (workers.ts). */
  port: number;
  token?: string;
  maxBodyBytes?: number;
  limits?: Partial<RouterLimits>;
  /** Where the worker writes its own Data Capture files, in the daemon's layout. */
  captureDir: string;
  retention: CaptureRetention;
  /** How long a worker gathers metrics before it sends them. */
  metricsIntervalMs: number;
}

export const ROUTER_WORKER_ENV = 'MLP_ROUTER_WORKER';

export type ToWorker =
  /** A change of the route table; the worker answers `applied` with the same seq once it is in force. */
  | { type: 'routes'; seq: number; change: RouteChange }
  /** Stop accepting, finish the requests in flight, write the capture queued, exit. */
  | { type: 'close' };

export type FromWorker =
  /** Its message handler is in place: routes can be sent. */
  | { type: 'ready' }
  | { type: 'applied'; seq: number }
  | { type: 'listening'; port: number }
  | { type: 'listen_failed'; message: string }
  | { type: 'metrics'; batch: MetricsBatch }
  | { type: 'log'; level: LogLevel; area: string; message: string; pipeline?: string };
