/**
 * The local executor: the step is a child process on this machine, in the pipeline folder, in a
 * process group of its own so a timeout or a cancel stops everything it started, not just the shell.
 */
import { spawn } from 'node:child_process';
import { formatDuration } from '../../shared/duration.js';
import { UNRECORDED, type ChildLedger } from '../children/ledger.js';
import { contractEnv, failureReason, lineSplitter, type Executor, type StepIO, type StepOutcome, type StepSpec } from './executor.js';

/** How long a step gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

export function createLocalExecutor(opts: { killGraceMs?: number; baseEnv?: NodeJS.ProcessEnv; ledger?: ChildLedger } = {}): Executor {
  const grace = opts.killGraceMs ?? KILL_GRACE_MS;
  const ledger = opts.ledger ?? UNRECORDED;
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
        const child = spawn('/bin/sh', ['-c', spec.command], {
          cwd: spec.pipelineDir,
          env: { ...(opts.baseEnv ?? process.env), ...contractEnv(spec, spec.dirs), PYTHONUNBUFFERED: '1', ...record.env },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        record.spawned(child.pid);
        child.stdout.on('data', (d: Buffer) => out.write(d));
        child.stderr.on('data', (d: Buffer) => err.write(d));

        let stopping: 'timed_out' | 'cancelled' | undefined;
        let killTimer: NodeJS.Timeout | undefined;
        const stop = (why: 'timed_out' | 'cancelled') => {
          if (stopping || child.exitCode !== null) return;
          stopping = why;
          signalGroup(child.pid, 'SIGTERM');
          killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), grace);
        };
        const timeout = setTimeout(() => stop('timed_out'), spec.timeoutMs);
        const onAbort = () => stop('cancelled');
        if (io.signal.aborted) onAbort();
        else io.signal.addEventListener('abort', onAbort, { once: true });

        const what = `step '${spec.step}'`;
        child.on('error', (e) => {
          record.ended();
          clearTimeout(timeout);
          io.signal.removeEventListener('abort', onAbort);
          resolve({ status: 'failed', exitCode: null, reason: `${what} could not start: ${e.message}`, tail });
        });
        child.on('close', (code, signal) => {
          record.ended();
          clearTimeout(timeout);
          if (killTimer) clearTimeout(killTimer);
          io.signal.removeEventListener('abort', onAbort);
          out.flush();
          err.flush();
          if (stopping === 'timed_out') {
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

function signalGroup(pid: number | undefined, signal: NodeJS.Signals) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
