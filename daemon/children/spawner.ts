/**
 * Starts the daemon's long-lived children (model servers, runs' steps) from a worker thread. Node's
 * spawn() blocks its thread until the child has exec'd, which on a busy machine is tens of
 * milliseconds: on the daemon's own thread, a thousand servers coming back, or a burst of runs
 * starting their steps, would stall the API, the router's route updates and every timer. The worker takes that wait; the daemon gets each server's pid, output and end as messages.
 * Signals go straight to the process group from the daemon (process.kill needs no worker).
 */
import { SHARE_ENV, Worker } from 'node:worker_threads';

export interface SpawnRequest {
  file: string;
  args: string[];
  cwd: string;
  /**
   * Added to the daemon's own environment. The worker shares the daemon's process.env and copies it
   * there, off the daemon's thread (copying process.env is a call into the runtime per variable).
   */
  env: Record<string, string>;
  /**
   * The CPU priority (nice, 1-19) of the child's session: see `SESSION_PRIORITY` below. Absent or 0:
   * the session competes with the daemon's as an equal.
   */
  sessionNice?: number;
}

export interface SpawnedProcess {
  /** The child's pid once it exists; undefined when it could not be started (see `exited`). */
  readonly pid: Promise<number | undefined>;
  /** The process ended: its exit code or signal, or why it never started (`error`, e.g. ENOENT). */
  readonly exited: Promise<{ code: number | null; signal: string | null; error?: { code?: string; message: string } }>;
  /** Its output is over too (every process holding its pipes has ended). */
  readonly closed: Promise<void>;
}

export interface Spawner {
  spawn(req: SpawnRequest, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): SpawnedProcess;
  /** Sets the CPU priority of a child's session (0: the daemon's own), e.g. a model server's once it serves. */
  setSessionNice(pid: number, nice: number): void;
}

type FromWorker =
  | { id: number; type: 'spawned'; pid: number | undefined }
  | { id: number; type: 'out'; stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { id: number; type: 'error'; code?: string; message: string }
  | { id: number; type: 'exit'; code: number | null; signal: string | null }
  | { id: number; type: 'close' };

/**
 * Children's CPU priority, in the worker (plain JavaScript, part of WORKER_SOURCE). Every child leads a
 * session of its own (detached, so the daemon can signal its whole process group), and where the
 * kernel groups processes by session for the scheduler (autogroups: /proc/sys/kernel/sched_autogroup_enabled,
 * on by default in most distributions) a process's own nice only ranks it within its session: a step
 * under `nice -n 10` alone in its session still takes as much CPU as the whole daemon. What ranks the
 * session is its autogroup's nice, /proc/PID/autogroup. Anyone may raise it (lower the priority) or set
 * it back to 0; without CAP_SYS_ADMIN the kernel takes one such write per 100 ms for the whole machine
 * (EAGAIN otherwise), so writes wait their turn, latest value per child, settings back to 0 first.
 */
const SESSION_PRIORITY = `
const autogroups = (() => {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
  } catch {
    return false;
  }
})();
const sessionNices = new Map();
let sessionNiceRetry;
function setSessionNice(pid, nice) {
  if (!autogroups) return;
  sessionNices.delete(pid);
  sessionNices.set(pid, nice);
  writeSessionNices();
}
function writeSessionNices() {
  if (sessionNiceRetry) return;
  const order = [...sessionNices].sort((a, b) => a[1] - b[1]);
  for (const [pid, nice] of order) {
    try {
      writeFileSync('/proc/' + pid + '/autogroup', String(nice));
    } catch (e) {
      if (e.code === 'EAGAIN') {
        sessionNiceRetry = setTimeout(() => {
          sessionNiceRetry = undefined;
          writeSessionNices();
        }, 100);
        return;
      }
      // ENOENT, ESRCH: the child has ended; anything else: not ours to set. Either way, nothing to retry.
    }
    sessionNices.delete(pid);
  }
}
`;

/** Plain JavaScript, run with `eval`, so the same code works from dist/ and from the TypeScript sources. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { readFileSync, writeFileSync } = require('node:fs');
${SESSION_PRIORITY}
parentPort.on('message', (m) => {
  if (m.kind === 'session-nice') return setSessionNice(m.pid, m.nice);
  const { id, file, args, cwd, env, sessionNice } = m;
  const post = (m) => parentPort.postMessage({ id, ...m });
  let child;
  try {
    child = spawn(file, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  } catch (e) {
    post({ type: 'spawned', pid: undefined });
    post({ type: 'error', code: e.code, message: e.message });
    post({ type: 'exit', code: null, signal: null });
    post({ type: 'close' });
    return;
  }
  post({ type: 'spawned', pid: child.pid });
  if (sessionNice > 0 && child.pid !== undefined) setSessionNice(child.pid, sessionNice);
  child.stdout.on('data', (data) => post({ type: 'out', stream: 'stdout', data }));
  child.stderr.on('data', (data) => post({ type: 'out', stream: 'stderr', data }));
  let ended = false;
  const end = (code, signal) => {
    if (ended) return;
    ended = true;
    post({ type: 'exit', code, signal });
  };
  child.on('error', (e) => {
    post({ type: 'error', code: e.code, message: e.message });
    end(null, null);
    if (child.pid === undefined) post({ type: 'close' });
  });
  child.on('exit', (code, signal) => end(code, signal));
  child.on('close', () => post({ type: 'close' }));
});
`;

interface Pending {
  onOutput(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  spawned(pid: number | undefined): void;
  error?: { code?: string; message: string };
  exited(e: { code: number | null; signal: string | null; error?: { code?: string; message: string } }): void;
  closed(): void;
}

export function createSpawner(): Spawner {
  let worker: Worker | undefined;
  let nextId = 0;
  const children = new Map<number, Pending>();

  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, { eval: true, env: SHARE_ENV });
    w.on('message', (m: FromWorker) => {
      const c = children.get(m.id);
      if (!c) return;
      switch (m.type) {
        case 'spawned':
          return c.spawned(m.pid);
        case 'out':
          return c.onOutput(m.stream, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
        case 'error':
          c.error = { ...(m.code !== undefined ? { code: m.code } : {}), message: m.message };
          return;
        case 'exit':
          return c.exited({ code: m.code, signal: m.signal, ...(c.error ? { error: c.error } : {}) });
        case 'close':
          children.delete(m.id);
          // Only children keep the worker (and so the daemon) up: with none left, it must not hold an exit.
          if (children.size === 0) w.unref();
          return c.closed();
      }
    });
    // The worker never throws on purpose; if it dies anyway, its children's ends can no longer be seen.
    w.on('error', (err) => fail(`the spawner thread failed: ${err.message}`));
    w.on('exit', () => fail('the spawner thread stopped'));
    return w;
  };
  const fail = (message: string) => {
    worker = undefined;
    for (const c of children.values()) {
      c.spawned(undefined);
      c.exited({ code: null, signal: null, error: { message } });
      c.closed();
    }
    children.clear();
  };

  return {
    spawn(req, onOutput) {
      worker ??= start();
      const id = nextId++;
      let spawned!: (pid: number | undefined) => void;
      let exited!: Pending['exited'];
      let closed!: () => void;
      const child: SpawnedProcess = {
        pid: new Promise((resolve) => (spawned = resolve)),
        exited: new Promise((resolve) => (exited = resolve)),
        closed: new Promise((resolve) => (closed = resolve)),
      };
      children.set(id, { onOutput, spawned, exited, closed });
      worker.ref();
      worker.postMessage({ id, ...req });
      return child;
    },
    setSessionNice(pid, nice) {
      worker?.postMessage({ kind: 'session-nice', pid, nice });
    },
  };
}
