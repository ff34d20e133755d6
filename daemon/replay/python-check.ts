/**
 * `python: file.py:function` replay checks: the data scientist's function runs in a Python subprocess in
 * the pipeline folder, over the replay's records (protocol: docs/rollouts.md, "Python checks").
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { UNRECORDED, type ChildLedger } from '../children/ledger.js';
import { PYTHON_RUNNER } from './python-runner.js';
import type { CheckResult } from './report.js';

export const DEFAULT_PYTHON_TIMEOUT_MS = 60_000;
/** The most of the function's own stdout/stderr kept for the report. */
const OUTPUT_TAIL = 4096;

export interface PythonCheckOptions {
  /** `checks/replay.py:no_negative_demand`. */
  spec: string;
  pipelineDir: string;
  /** A JSON-lines file of replay records, given to the function as its stdin. */
  recordsFile: string;
  python: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Where the daemon records the runner (so a daemon killed mid-check does not leave it running). */
  ledger?: ChildLedger;
}

interface RunnerResult {
  passed?: boolean;
  reason?: string | null;
  observed?: unknown;
  error?: 'missing_file' | 'missing_function' | 'import_failed' | 'exception' | 'bad_return';
  message?: string;
  traceback?: string;
}

/** Runs one python check; every way it can go wrong becomes a failed check saying why. */
export async function runPythonCheck(o: PythonCheckOptions): Promise<CheckResult> {
  const colon = o.spec.lastIndexOf(':');
  const file = o.spec.slice(0, colon);
  const fn = o.spec.slice(colon + 1);
  const rule = `python ${o.spec}`;
  const fail = (detail: string, observed: unknown = null): CheckResult => ({
    kind: 'python',
    rule,
    observed,
    threshold: null,
    passed: false,
    detail,
  });
  if (!existsSync(o.pipelineDir)) return fail(`the pipeline folder ${o.pipelineDir} does not exist`);

  const stdin = openSync(o.recordsFile, 'r');
  const record = (o.ledger ?? UNRECORDED).process({ what: `replay check ${rule}` });
  let child;
  try {
    child = spawn(o.python, ['-c', PYTHON_RUNNER, file, fn], {
      cwd: o.pipelineDir,
      stdio: [stdin, 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', ...record.env },
      detached: true, // its own process group: stopping it stops what the function started too
    });
    record.spawned(child.pid);
  } finally {
    closeSync(stdin);
  }
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let resultText = '';
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
    resultText += d.toString('utf8');
  });

  let stopped: 'timeout' | 'cancelled' | null = null;
  const kill = (why: 'timeout' | 'cancelled') => {
    stopped ??= why;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const timer = setTimeout(() => kill('timeout'), o.timeoutMs);
  const onAbort = () => kill('cancelled');
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) onAbort();

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  record.ended();
  clearTimeout(timer);
  o.signal.removeEventListener('abort', onAbort);

  const withOutput = (s: string) => (output.trim() ? `${s}\noutput:\n${output.trimEnd()}` : s);
  if (exit.error) {
    const code = (exit.error as NodeJS.ErrnoException).code;
    return fail(
      code === 'ENOENT'
        ? `cannot run ${o.python}: not found (set the interpreter for python checks)`
        : `cannot run ${o.python}: ${exit.error.message}`,
    );
  }
  if (stopped === 'timeout') return fail(withOutput(`${o.spec} did not finish within ${o.timeoutMs / 1000} s: stopped`));
  if (stopped === 'cancelled') return fail('cancelled');

  let r: RunnerResult;
  try {
    r = JSON.parse(resultText.trim().split('\n').pop() ?? '') as RunnerResult;
  } catch {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    return fail(withOutput(`${o.python} ${how} before ${o.spec} returned`));
  }
  switch (r.error) {
    case undefined:
      break;
    case 'exception':
      return fail(withOutput(`${o.spec} raised ${r.message}\n${r.traceback ?? ''}`.trimEnd()));
    case 'import_failed':
      return fail(withOutput(`${file} could not be imported: ${r.message}\n${r.traceback ?? ''}`.trimEnd()));
    default:
      return fail(withOutput(r.message ?? r.error));
  }
  const observed = r.observed ?? null;
  if (r.passed === true) return { kind: 'python', rule, observed, threshold: null, passed: true, detail: r.reason ?? 'passed' };
  return fail(withOutput(r.reason ?? 'failed'), observed);
}
