/**
 * The local executor: the step is a child process on this machine, in the pipeline folder, in a
 * process group of its own so a timeout or a cancel stops everything it started, not just the shell.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { formatDuration } from '../../shared/duration.js';
import { UNRECORDED, type ChildLedger } from '../children/ledger.js';
import { createSpawner, type Spawner } from '../children/spawner.js';
import { contractEnv, failureReason, lineSplitter, type Executor, type StepIO, type StepOutcome, type StepSpec } from './executor.js';

/** How long a step gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

export function createLocalExecutor(
  opts: {
    killGraceMs?: number;
    ledger?: ChildLedger;
    spawner?: Spawner;
    /** The CPU priority steps start with (`runs.nice` of mlp.yaml, asked at each step); 0 or absent: the daemon's own. */
    nice?: () => number;
  } = {},
): Executor {
  const grace = opts.killGraceMs ?? KILL_GRACE_MS;
  const ledger = opts.ledger ?? UNRECORDED;
  let spawner = opts.spawner;
  return {
    kind: 'local',
    run(spec: StepSpec, io: StepIO): Promise<StepOutcome> {
      return new Promise((resolve) => {
        const tail: string[] = [];
        const out = lineSplitter((l) => io.onLine('stdout', l), tail);
        const err = lineSplitter((l) => io.onLine('stderr', l), tail);
        const record = ledger.process({
          what: `step '${spec.step}' of ${spec.pipeline}/${spec.group}`,
          run: { id: spec.runId, step: spec.step, group: spec.group },
        });
        // From the spawner's thread: spawn() holds its thread until the child has exec'd, and a burst of
        // runs starting their steps must not hold the daemon's (its API, router updates and timers) that long.
        spawner ??= createSpawner();
        const nice = opts.nice?.() ?? 0;
        const argv = niced(nice, ['/bin/sh', '-c', spec.command]);
        const child = spawner.spawn(
          {
            file: argv[0]!,
            args: argv.slice(1),
            cwd: spec.pipelineDir,
            env: { ...contractEnv(spec, spec.dirs), PYTHONUNBUFFERED: '1', ...record.env },
            // `nice -n` ranks the step among the processes of its session; this ranks its session against the daemon's.
            ...(nice > 0 ? { sessionNice: nice } : {}),
          },
          (stream, chunk) => (stream === 'stdout' ? out : err).write(chunk),
        );
        let pid: number | undefined;
        let ended = false;
        void child.pid.then((p) => {
          pid = p;
          record.spawned(p);
          if (stopping && !ended) signalGroup(pid, 'SIGTERM'); // stopped before the pid was known
        });

        let stopping: 'timed_out' | 'cancelled' | undefined;
        let killTimer: NodeJS.Timeout | undefined;
        const stop = (why: 'timed_out' | 'cancelled') => {
          if (stopping || ended) return;
          stopping = why;
          signalGroup(pid, 'SIGTERM');
          killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), grace);
        };
        const timeout = setTimeout(() => stop('timed_out'), spec.timeoutMs);
        const onAbort = () => stop('cancelled');
        if (io.signal.aborted) onAbort();
        else io.signal.addEventListener('abort', onAbort, { once: true });

        const what = `step '${spec.step}'`;
        // Done when the shell has exited and every process holding its output has ended too.
        void Promise.all([child.exited, child.closed]).then(([{ code, signal, error }]) => {
          ended = true;
          record.ended();
          clearTimeout(timeout);
          if (killTimer) clearTimeout(killTimer);
          io.signal.removeEventListener('abort', onAbort);
          out.flush();
          err.flush();
          if (error) {
            resolve({ status: 'failed', exitCode: null, reason: `${what} could not start: ${error.message}`, tail });
          } else if (stopping === 'timed_out') {
            resolve({
              status: 'timed_out',
              exitCode: code,
              reason: `${what} ran longer than its limit of ${formatDuration(spec.timeoutMs)} and was stopped`,
              tail,
            });
          } else if (stopping === 'cancelled') {
            resolve({ status: 'cancelled', exitCode: code, reason: `${what} was cancelled`, tail });
          } else if (code === 0) {
            resolve({ status: 'succeeded', exitCode: 0, reason: null, tail });
          } else {
            resolve({ status: 'failed', exitCode: code, reason: failureReason(what, code, signal, tail), tail });
          }
        });
      });
    },
  };
}

/**
 * The command under `nice -n N`: a step (training, ingestion, a check) is batch work, and on a machine it
 * keeps busy the daemon (its API, rollouts, the router) and the model servers answering live traffic
 * should come first. `nice` execs the command, so the step keeps its pid and process group; what it
 * starts inherits the priority. Without a `nice` on PATH the step runs at the daemon's priority. Where
 * the kernel schedules sessions as groups (autogroups), the step's session gets the same nice
 * (`sessionNice`, spawner.ts): without it, `nice -n` would rank the step only within its own session.
 */
export function niced(nice: number, argv: string[]): string[] {
  if (nice <= 0) return argv;
  const nicePath = niceCommand();
  return nicePath ? [nicePath, '-n', String(nice), ...argv] : argv;
}

let niceFound: string | null | undefined;
function niceCommand(): string | null {
  if (niceFound !== undefined) return niceFound;
  niceFound = null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'nice'))) {
      niceFound = join(dir, 'nice');
      break;
    }
  }
  return niceFound;
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
