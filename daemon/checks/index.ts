/**
 * Data checks (docs/rollouts.md, "Data checks"): each `deployment.data_checks` entry
 * validates a Great Expectations suite against its data — a CSV / JSON Lines file in the pipeline
 * folder, or `sql:` through a warehouse connection — with the native engine or the real package.
 * A check that cannot run (missing suite, data, connection, Python package) fails with the reason.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { sqlQuery, type DataCheck } from '../../shared/config/schema.js';
import { describeError, MlpError } from '../../shared/errors.js';
import type { ChildLedger } from '../children/ledger.js';
import { csvDataset } from './csv.js';
import type { Dataset } from './dataset.js';
import { validateWithGx, type GxData } from './gx.js';
import { jsonLinesDataset } from './jsonl.js';
import { validateNative } from './native.js';
import { buildReport, errorReport, type DataCheckReport, type Engine } from './report.js';
import { queryDataset } from './sql.js';
import { readSuite } from './suite.js';

export type { DataCheckReport, FailedExpectation } from './report.js';
export type { ExpectationResult, Statistics } from './results.js';

export interface DataChecksOptions {
  checks: readonly DataCheck[];
  /** Suites and data files are relative to it. */
  pipelineDir: string;
  /** `sqlite:FILE` warehouses are relative to it. */
  repoRoot: string;
  /** mlp.yaml `warehouses`: connection name → URL. */
  warehouses: Record<string, string>;
  /** The connection of `groups.source`, for `sql:` checks without their own. */
  defaultConnection?: string;
  /** The group the checks run for: bound to `:group` in `sql:` queries. */
  group?: string;
  /** Interpreter for engine great_expectations (default: python3). */
  python?: string;
  /** Per check (default: 5 minutes): bounds the warehouse query and the Great Expectations run. */
  timeoutMs?: number;
  /** Where the daemon records Great Expectations runners. */
  ledger?: ChildLedger;
  /** Stops a running Great Expectations suite (the daemon is stopping, the rollout moved on). */
  signal?: AbortSignal;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 5 * 60_000;

/** Runs every check, one after the other; one report per check, in order. Never throws: a check that cannot run fails. */
export async function runDataChecks(opts: DataChecksOptions): Promise<DataCheckReport[]> {
  const reports: DataCheckReport[] = [];
  for (const check of opts.checks) reports.push(await runDataCheck(check, opts));
  return reports;
}

export async function runDataCheck(check: DataCheck, opts: DataChecksOptions): Promise<DataCheckReport> {
  const started = performance.now();
  const engine: Engine = check.engine ?? 'native';
  const base = { suite: check.suite, data: check.data, engine };
  const elapsed = () => Math.round(performance.now() - started);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  try {
    const suite = await readSuite(resolve(opts.pipelineDir, check.suite), check.suite);
    const source = await locateData(check, opts, timeoutMs);
    if (engine === 'great_expectations') {
      const remaining = Math.max(1, timeoutMs - elapsed());
      const gxData: GxData = 'dataset' in source ? { format: 'records', dataset: source.dataset } : source;
      const run = await validateWithGx(suite, gxData, {
        python: opts.python ?? 'python3',
        timeoutMs: remaining,
        ...(opts.ledger ? { ledger: opts.ledger } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return buildReport(
        { ...base, durationMs: elapsed(), rowCount: run.rowCount, dtypes: run.dtypes, engineVersion: run.engineVersion },
        run.results,
      );
    }
    const dataset = 'dataset' in source ? source.dataset : await readDataFile(source.format, source.path, check.data);
    const results = validateNative(suite, dataset);
    const dtypes = Object.fromEntries(dataset.columns.map((c) => [c.name, c.dtype]));
    return buildReport({ ...base, durationMs: elapsed(), rowCount: dataset.rowCount, dtypes }, results);
  } catch (err) {
    // Whatever went wrong, the gate must see a failed check, never a pass or a crash.
    return errorReport({ ...base, durationMs: elapsed() }, describeError(err));
  }
}

type DataSource = { format: 'csv' | 'jsonl'; path: string } | { dataset: Dataset };

/** A data file (checked to exist, not read yet), or the rows of a `sql:` query. */
async function locateData(check: DataCheck, opts: DataChecksOptions, timeoutMs: number): Promise<DataSource> {
  const query = sqlQuery(check.data);
  if (query !== undefined) {
    const connection = check.connection ?? opts.defaultConnection;
    if (connection === undefined) {
      throw new MlpError('invalid_config', "data 'sql:' needs a warehouse connection: set connection on this check or groups.source");
    }
    const url = opts.warehouses[connection];
    if (url === undefined) {
      const known = Object.keys(opts.warehouses);
      throw new MlpError(
        'invalid_config',
        `warehouse connection '${connection}' is not declared in mlp.yaml` +
          (known.length ? ` (declared: ${known.join(', ')})` : ' (add it under warehouses:)'),
      );
    }
    return { dataset: await queryDataset({ connection, url, repoRoot: opts.repoRoot }, query, opts.group, timeoutMs) };
  }
  const path = resolve(opts.pipelineDir, check.data);
  const ext = extname(path).toLowerCase();
  const format = ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : undefined;
  if (!format)
    throw new MlpError(
      'invalid_config',
      `data ${check.data}: '${ext || 'no extension'}' is not a format data checks read; use a .csv or .jsonl file, or sql: SELECT ...`,
    );
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new MlpError('not_found', `data file ${check.data} does not exist (${path})`);
  return { format, path };
}

async function readDataFile(format: 'csv' | 'jsonl', path: string, label: string): Promise<Dataset> {
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new MlpError('check_failed', `data file ${label} cannot be read: ${err.message}`);
  });
  return format === 'csv' ? csvDataset(text, label) : jsonLinesDataset(text, label);
}
