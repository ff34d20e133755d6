/**
 * The great_expectations engine: the suite runs in the real Great Expectations package, in a Python
 * subprocess (gx_runner.py beside this file) on a pandas DataFrame. Files go to pandas as they are;
 * warehouse rows are written as JSON lines with floats kept floats, so pandas types them as the
 * native engine does.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlpError } from '../../shared/errors.js';
import { UNRECORDED, type ChildLedger, type ProcessRecord } from '../children/ledger.js';
import { pyKind, type Dataset } from './dataset.js';
import { pyFloat, pyStr } from './python.js';
import type { ExpectationResult } from './results.js';
import type { Suite } from './suite.js';

export type GxData = { format: 'csv' | 'jsonl'; path: string } | { format: 'records'; dataset: Dataset };

export interface GxRun {
  results: ExpectationResult[];
  /** e.g. `great_expectations 1.24.1, pandas 3.1.1` */
  engineVersion: string;
  /** The DataFrame's dtypes as pandas reports them. */
  dtypes: Record<string, string>;
  rowCount: number;
}

interface RunnerOutput {
  error?: 'missing_package';
  module?: string | null;
  message?: string;
  results?: ExpectationResult[];
  rows?: number;
  versions?: { great_expectations: string; pandas: string };
  dtypes?: Record<string, string>;
}

const OUTPUT_TAIL = 16_000;

export async function validateWithGx(
  suite: Suite,
  data: GxData,
  opts: { python: string; timeoutMs: number; ledger?: ChildLedger; signal?: AbortSignal },
): Promise<GxRun> {
  const dir = await mkdtemp(join(tmpdir(), 'mlp-gx-'));
  try {
    const request = join(dir, 'request.json');
    const output = join(dir, 'result.json');
    let source: Record<string, unknown> = data;
    if (data.format === 'records') {
      const rows = join(dir, 'rows.jsonl');
      await writeFile(rows, recordLines(data.dataset));
      source = { format: 'records', path: rows, columns: data.dataset.columns.map((c) => c.name) };
    }
    await writeFile(request, JSON.stringify({ suite: { name: suite.name, expectations: suite.expectations }, data: source }));
    const record = (opts.ledger ?? UNRECORDED).process({ what: `Great Expectations suite ${suite.name}` });
    await runPython(opts.python, [runnerPath(), request, output], dir, opts.timeoutMs, record, opts.signal);

    let out: RunnerOutput;
    try {
      out = JSON.parse(await readFile(output, 'utf8')) as RunnerOutput;
    } catch (err) {
      throw new MlpError('check_failed', `Great Expectations (${opts.python}) wrote no readable result: ${(err as Error).message}`);
    }
    if (out.error === 'missing_package') throw missingPackage(opts.python, out);
    // Report each expectation as the suite wrote it (GX adds batch_id, ids and float-cast bounds).
    const results = out.results!.map((r, i) => ({ ...r, expectation_config: { ...suite.expectations[i]! } }));
    return {
      results,
      engineVersion: `great_expectations ${out.versions!.great_expectations}, pandas ${out.versions!.pandas}`,
      dtypes: out.dtypes ?? {},
      rowCount: out.rows ?? 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function missingPackage(python: string, out: RunnerOutput): MlpError {
  const module = out.module ?? '';
  if (module === '' || module === 'great_expectations' || module.startsWith('great_expectations.')) {
    return new MlpError(
      'unavailable',
      `the great_expectations Python package is not installed for ${python}: pip install great_expectations`,
    );
  }
  return new MlpError(
    'unavailable',
    `great_expectations cannot be imported with ${python} (${out.message}): pip install great_expectations`,
  );
}

/** One JSON array per row; a float stays a float for Python (`2.0`, `1e+16`, `Infinity`). */
function recordLines(data: Dataset): string {
  const lines: string[] = [];
  for (let i = 0; i < data.rowCount; i++) {
    const cells = data.columns.map((c) => {
      const v = c.values[i] ?? null;
      const kind = pyKind(c, i);
      if (v === null || kind === null) return 'null';
      if (kind === 'float') {
        const x = v as number;
        if (Number.isFinite(x)) return pyFloat(x);
        return x > 0 ? 'Infinity' : '-Infinity';
      }
      return kind === 'int' ? pyStr(v, 'int') : JSON.stringify(v);
    });
    lines.push(`[${cells.join(',')}]\n`);
  }
  return lines.join('');
}

/** gx_runner.py: beside this file when run from source, else under the package root's daemon/checks. */
function runnerPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'gx_runner.py');
  if (existsSync(beside)) return beside;
  for (let dir = here; dirname(dir) !== dir; dir = dirname(dir)) {
    const candidate = join(dir, 'daemon', 'checks', 'gx_runner.py');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
  }
  throw new MlpError('internal', `gx_runner.py is missing from the mlp installation (looked beside ${here} and under the package root)`);
}

function runPython(
  python: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  record: ProcessRecord,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, {
      cwd,
      detached: true, // its own process group, so a timeout also stops anything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TQDM_DISABLE: '1', PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...record.env },
    });
    record.spawned(child.pid);
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let stopped: 'timed_out' | 'cancelled' | undefined;
    const stop = (why: 'timed_out' | 'cancelled') => {
      stopped ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => stop('timed_out'), timeoutMs);
    // The daemon stopping (or the rollout moving on) stops the suite too.
    const onAbort = () => stop('cancelled');
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      record.ended();
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err.code === 'ENOENT') {
        reject(
          new MlpError('unavailable', `the Python interpreter '${python}' was not found; engine great_expectations runs the suite with it`),
        );
      } else reject(new MlpError('unavailable', `cannot start ${python}: ${err.message}`));
    });
    child.on('close', (code, killedBy) => {
      record.ended();
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (stopped === 'cancelled') {
        reject(new MlpError('check_failed', 'Great Expectations was stopped: the data checks were cancelled'));
      } else if (stopped === 'timed_out') {
        reject(
          new MlpError('check_failed', `Great Expectations did not finish within ${formatSeconds(timeoutMs)} (${python}); stopped it`),
        );
      } else if (code !== 0) {
        const why = killedBy ? `was killed by ${killedBy}` : `exited with ${code}`;
        reject(new MlpError('check_failed', `Great Expectations (${python}) ${why}:\n${output.trimEnd()}`));
      } else resolve();
    });
  });
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
