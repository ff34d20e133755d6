/**
 * Group discovery (README.md, "The repo": groups): the distinct values of a key column in a warehouse table.
 * The embedded default warehouse is a SQLite file; the connection string comes from mlp.yaml.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_GROUP, parseGroupSource, type PipelineConfig } from '../../shared/config/schema.js';
import { MlpError } from '../../shared/errors.js';
import { groupNameProblem, showValue } from './group-names.js';
import { redact } from './redact.js';

export interface GroupSource {
  /** Connection name as written in `groups.source` (`<connection>.<table>`). */
  connection: string;
  table: string;
  /** Key column; default: the table's first column. */
  key?: string;
}

export interface PipelineGroups {
  groups: string[];
  /** One line per value that cannot be a group (group-names.ts), naming the source, the value and why. */
  refused: string[];
}

/**
 * Reads of group sources shared by the pipelines of one discovery pass, by connection, table and key:
 * a fleet whose pipelines all name `warehouse.cities` reads the table once, not once per pipeline
 * (1,000 pipelines: a third of a second of SQLite opens at every pass, or 1,000 Postgres connections).
 */
export type GroupReads = Map<string, Promise<string[]>>;

/**
 * A pipeline's groups: discovered from its `groups.source`, else the one implicit group. A value that
 * cannot be a group is left out and reported, like a NULL is left out: the other groups still run.
 */
export async function pipelineGroups(
  config: PipelineConfig,
  warehouses: Record<string, string>,
  repoRoot: string,
  reads?: GroupReads,
): Promise<PipelineGroups> {
  const groups = config.pipeline.groups;
  const source = groups.generate && groups.source ? parseGroupSource(groups.source) : undefined;
  if (!source) return { groups: [DEFAULT_GROUP], refused: [] };
  const read = { ...source, ...(groups.key ? { key: groups.key } : {}) };
  const values = await (reads ? sharedRead(reads, read, warehouses, repoRoot) : discoverGroups(read, warehouses, repoRoot));
  const found: PipelineGroups = { groups: [], refused: [] };
  for (const value of values) {
    const problem = groupNameProblem(value);
    if (problem === null) found.groups.push(value);
    else
      found.refused.push(
        `groups.source ${groups.source}: the value ${showValue(value)} is not used as a group: ${problem} (fix or remove its rows)`,
      );
  }
  return found;
}

function sharedRead(reads: GroupReads, source: GroupSource, warehouses: Record<string, string>, repoRoot: string): Promise<string[]> {
  const id = JSON.stringify([warehouses[source.connection] ?? null, source.connection, source.table, source.key ?? null]);
  let read = reads.get(id);
  if (!read) {
    read = discoverGroups(source, warehouses, repoRoot);
    reads.set(id, read);
  }
  return read;
}

/** Reads the groups named by `source`, or throws an MlpError that names what is missing. */
export async function discoverGroups(source: GroupSource, warehouses: Record<string, string>, repoRoot: string): Promise<string[]> {
  const url = warehouses[source.connection];
  if (url === undefined) {
    const known = Object.keys(warehouses);
    throw new MlpError(
      'invalid_config',
      `warehouse connection '${source.connection}' is not declared in mlp.yaml` +
        (known.length ? ` (declared: ${known.join(', ')})` : ' (add it under warehouses:)'),
    );
  }
  if (url.startsWith('sqlite:')) return sqliteGroups(url.slice('sqlite:'.length), source, repoRoot);
  if (/^postgres(ql)?:\/\//.test(url)) return postgresGroups(url, source);
  const scheme = url.split(':')[0];
  throw new MlpError(
    'invalid_config',
    `warehouse '${source.connection}': '${scheme}:' connections are not supported (sqlite:FILE or postgres://...)`,
  );
}

function sqliteGroups(path: string, source: GroupSource, repoRoot: string): string[] {
  const file = isAbsolute(path) ? path : resolve(repoRoot, path);
  if (!existsSync(file)) {
    throw new MlpError('not_found', `warehouse '${source.connection}': SQLite file ${file} does not exist`);
  }
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const columns = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(source.table) as { name: string }[];
    if (columns.length === 0) {
      throw new MlpError('not_found', `warehouse '${source.connection}': table '${source.table}' does not exist in ${file}`);
    }
    const key = source.key ?? columns[0]!.name;
    if (!columns.some((c) => c.name === key)) {
      throw new MlpError(
        'not_found',
        `warehouse '${source.connection}': table '${source.table}' has no column '${key}' (columns: ${columns.map((c) => c.name).join(', ')})`,
      );
    }
    const rows = db
      .prepare(`SELECT DISTINCT ${quoteIdent(key)} AS g FROM ${quoteIdent(source.table)} WHERE ${quoteIdent(key)} IS NOT NULL ORDER BY 1`)
      .all() as { g: unknown }[];
    return rows.map((r) => String(r.g));
  } finally {
    db.close();
  }
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The table may be schema-qualified (`public.cities`); default schema: the connection's search path. */
async function postgresGroups(url: string, source: GroupSource): Promise<string[]> {
  const where = `warehouse '${source.connection}' (${redact(url)})`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, statement_timeout: 30_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new MlpError('unavailable', `cannot connect to ${where}: ${(err as Error).message}`);
  }
  try {
    const [schema, table] = source.table.includes('.') ? source.table.split('.', 2) : [null, source.table];
    const columns = await client.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns
        WHERE table_name = $1 AND table_schema = COALESCE($2, current_schema())
        ORDER BY ordinal_position`,
      [table, schema],
    );
    if (columns.rows.length === 0) {
      throw new MlpError('not_found', `${where}: table '${source.table}' does not exist`);
    }
    const names = columns.rows.map((r) => r.column_name);
    const key = source.key ?? names[0]!;
    if (!names.includes(key)) {
      throw new MlpError('not_found', `${where}: table '${source.table}' has no column '${key}' (columns: ${names.join(', ')})`);
    }
    const qualified = (schema ? `${quoteIdent(schema)}.` : '') + quoteIdent(table!);
    const rows = await client.query<{ g: unknown }>(
      `SELECT DISTINCT ${quoteIdent(key)} AS g FROM ${qualified} WHERE ${quoteIdent(key)} IS NOT NULL ORDER BY 1`,
    );
    return rows.rows.map((r) => String(r.g));
  } catch (err) {
    if (err instanceof MlpError) throw err;
    throw new MlpError('unavailable', `${where}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}
