/**
 * Keeps one variant's model server alive: start it on a free port, wait until `GET /ping` answers
 * 200 (it is live), restart it with backoff when it dies, and stop it (after its traffic drained)
 * when the variant is retired. Every change of state is reported, so it is recorded and visible.
 */
import { request } from 'node:http';
import { describeError } from '../../../shared/errors.js';
import { createPortPool, type PortPool } from './ports.js';
import { MODEL_SERVER_HOST, type RunningServer, type ServerBackend, type ServerSpec } from './servers.js';
import type { StartSlots } from './start-slots.js';

export type SupervisedState = 'starting' | 'live' | 'failed' | 'stopped';

export interface StateChange {
  state: SupervisedState;
  port: number | null;
  /** The running server's handle (pid, container), for reaping after a daemon crash. */
  handle: string | null;
  restarts: number;
  /** Why this change happened when it is bad news (crash, startup timeout), with the server's last output. */
  error: string | null;
  /** The most recent such error, kept after the server is live again ("restarted once: it crashed"). */
  lastError: string | null;
}

export interface SupervisorOptions {
  spec: Omit<ServerSpec, 'port'>;
  backend: ServerBackend;
  startupTimeoutMs: number;
  /** Bounds the servers starting at once (absent: this one starts at once); held from the start until live or failed. */
  slots?: StartSlots;
  /** Where its port comes from; one pool per daemon, so no two of its servers are given the same port. */
  ports?: PortPool;
  /** First restart delay; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Consecutive failed starts after which the supervisor gives up (state 'failed'). */
  maxFailedStarts?: number;
  onChange(change: StateChange): void;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

export interface Supervisor {
  readonly state: SupervisedState;
  readonly port: number | null;
  /** Resolves once live, rejects when the first start fails for good. */
  readonly firstLive: Promise<void>;
  /** Resolves when the server is live (at once if it is now), rejects when the supervisor gave up or was stopped. */
  whenLive(): Promise<void>;
  stop(graceMs?: number): Promise<void>;
}

/**
 * A starting server is asked soon, then less often: a small server is up in tens of milliseconds, and while
 * servers start a few at a time, each one's slot is held until its /ping answers.
 */
const FIRST_PING_AFTER_MS = 10;
const PING_EVERY_MS = 100;

export function supervise(opts: SupervisorOptions): Supervisor {
  const backoff0 = opts.backoffMs ?? 1_000;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const maxFailedStarts = opts.maxFailedStarts ?? 5;
  const ports = opts.ports ?? defaultPorts();
  let state: SupervisedState = 'starting';
  let port: number | null = null;
  let restarts = 0;
  let failedStarts = 0;
  let server: RunningServer | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  let resolveFirst!: () => void;
  let rejectFirst!: (err: Error) => void;
  const firstLive = new Promise<void>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  firstLive.catch(() => {}); // a caller that does not wait must not see an unhandled rejection

  let lastError: string | null = null;
  const waiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>();
  const set = (next: SupervisedState, error: string | null) => {
    state = next;
    lastError = error ?? lastError;
    if (next === 'live' || next === 'failed' || next === 'stopped') {
      for (const w of waiters) {
        if (next === 'live') w.resolve();
        else w.reject(new Error(next === 'failed' ? (error ?? 'it failed') : 'it was stopped'));
      }
      waiters.clear();
    }
    opts.onChange({ state, port, handle: server?.handle ?? null, restarts, error, lastError });
  };

  const givePort = () => {
    if (port !== null) ports.give(port);
    port = null;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = async () => {
    let delay = backoff0;
    while (!stopping) {
      let error: string;
      let release = () => {};
      try {
        if (opts.slots) release = await opts.slots.acquire();
        if (stopping) break;
        port = await ports.take();
        if (stopping) break;
        server = await opts.backend.start({ ...opts.spec, port }, opts.onLine);
        set('starting', null); // records the new server's handle before waiting for it
        const ready = await waitReady(port, server, opts.startupTimeoutMs, () => stopping);
        release();
        if (stopping) break;
        if (ready !== true) throw new Error(ready);
        failedStarts = 0;
        delay = backoff0;
        server.live?.();
        set('live', null);
        resolveFirst();
        const exit = await server.exited;
        if (stopping) break;
        error = `the model server exited (${exit.code !== null ? `code ${exit.code}` : (exit.signal ?? 'killed')})${lastLine(server)}`;
      } catch (err) {
        release();
        if (stopping) break;
        failedStarts++;
        error = err instanceof Error ? err.message : describeError(err);
        await server?.stop(1_000);
        if (failedStarts >= maxFailedStarts) {
          givePort();
          set('failed', `${error} (gave up after ${failedStarts} attempts)`);
          rejectFirst(new Error(error));
          return;
        }
        if (restarts === 0 && failedStarts === 1 && state === 'starting') {
          // The very first start failing is the deploy's problem: say so at once, keep trying.
          rejectFirst(new Error(error));
        }
      } finally {
        release(); // a stop while waiting for the slot or starting gives it back too
      }
      restarts++;
      givePort();
      set('starting', error);
      await sleep(delay);
      delay = Math.min(delay * 2, maxBackoff);
    }
  };
  const looping = loop();

  return {
    get state() {
      return state;
    },
    get port() {
      return port;
    },
    firstLive,
    whenLive() {
      if (state === 'live') return Promise.resolve();
      if (state === 'failed' || state === 'stopped')
        return Promise.reject(new Error(state === 'failed' ? (lastError ?? 'it failed') : 'it was stopped'));
      return new Promise((resolve, reject) => waiters.add({ resolve, reject }));
    },
    async stop(graceMs = 5_000) {
      stopping = true;
      wake?.();
      await server?.stop(graceMs);
      // A start under way when the stop came finishes first: the server it started is stopped too,
      // or it would outlive the daemon.
      await looping;
      await server?.stop(graceMs);
      givePort();
      set('stopped', null);
    },
  };
}

let sharedPorts: PortPool | undefined;
/** For supervisors started without a pool (tests, tools): one for the process. */
function defaultPorts(): PortPool {
  return (sharedPorts ??= createPortPool(MODEL_SERVER_HOST));
}

/** Polls GET /ping until 200; returns true, or why it is not ready (timeout with last output, early exit). */
async function waitReady(port: number, server: RunningServer, timeoutMs: number, cancelled: () => boolean): Promise<true | string> {
  // Elapsed time on the monotonic clock: the timeout runs against real sleeps, and a wall-clock step must not cut it short.
  const deadline = performance.now() + timeoutMs;
  let every = FIRST_PING_AFTER_MS;
  let exited: string | undefined;
  void server.exited.then(
    (e) =>
      (exited = `the model server exited before it answered /ping (${e.code !== null ? `code ${e.code}` : (e.signal ?? 'killed')})${lastLine(server)}`),
  );
  while (!cancelled()) {
    if (exited) return exited;
    if (await ping(port)) return true;
    if (performance.now() > deadline) {
      return `the model server did not answer GET /ping with 200 within ${Math.round(timeoutMs / 1000)}s (serve.startup_timeout_seconds)${lastLine(server)}`;
    }
    await new Promise((r) => setTimeout(r, every));
    every = Math.min(every * 2, PING_EVERY_MS);
  }
  return 'stopped';
}

function lastLine(server: RunningServer): string {
  const last = server
    .tail()
    .filter((l) => l.trim())
    .slice(-3);
  return last.length ? `; its last output: ${last.join(' | ')}` : '; it printed nothing';
}

/** One GET /ping; true on 200. */
export function ping(port: number, host = MODEL_SERVER_HOST, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/ping', method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
