/**
 * `sql:` data: a query run through a warehouse connection from mlp.yaml (SQLite file opened read-only,
 * or PostgreSQL), its rows typed as pandas would type them (integers int64, REAL/DOUBLE/NUMERIC
 * float64, text str; dates and times arrive as their text). The query may use `:group`, bound to the
 * group the check runs for.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { MlpError } from '../../shared/errors.js';
import { RecordsBuilder, type Cell, type Dataset } from './dataset.js';
import { redact } from '../warehouse/redact.js';

export interface QueryTarget {
  /** Connection name, for messages. */
  connection: string;
  /** Its URL from mlp.yaml: `sqlite:FILE` (relative to the repo root) or `postgres://...`. */
  url: string;
  repoRoot: string;
}

export async function queryDataset(target: QueryTarget, query: string, group: string | undefined, timeoutMs: number): Promise<Dataset> {
  const { url } = target;
  if (url.startsWith('sqlite:')) return sqliteQuery(target, url.slice('sqlite:'.length), query, group);
  if (/^postgres(ql)?:\/\//.test(url)) return postgresQuery(target, query, group, timeoutMs);
  throw new MlpError(
    'invalid_config',
    `warehouse '${target.connection}': '${url.split(':')[0]}:' connections are not supported (sqlite:FILE or postgres://...)`,
  );
}

// String literals, quoted names, comments and PostgreSQL $tag$ bodies are matched whole, so a
// `:group` inside them is left alone; `x::group` is a cast, not a parameter.
const GROUP_TOKENS =
  /'(?:[^']|'')*'?|"(?:[^"]|"")*"?|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|(\$[A-Za-z_]*\$)[\s\S]*?(?:\1|$)|(?<!:):group(?![A-Za-z0-9_])/g;

/** Replaces each `:group` parameter of a query by the driver's `placeholder`; says whether there was one. */
export function bindGroup(query: string, placeholder: string): { text: string; usesGroup: boolean } {
  let usesGroup = false;
  const text = query.replace(GROUP_TOKENS, (token) => {
    if (!token.startsWith(':')) return token;
    usesGroup = true;
    return placeholder;
  });
  return { text, usesGroup };
}

function groupValues(usesGroup: boolean, group: string | undefined, where: string): string[] {
  if (!usesGroup) return [];
  if (group === undefined) throw new MlpError('check_failed', `${where}: the query uses :group, but this check runs without a group`);
  return [group];
}

function sqliteQuery(target: QueryTarget, path: string, query: string, group: string | undefined): Dataset {
  const file = isAbsolute(path) ? path : resolve(target.repoRoot, path);
  const where = `warehouse '${target.connection}' (sqlite:${path})`;
  if (!existsSync(file)) throw new MlpError('not_found', `${where}: SQLite file ${file} does not exist`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const { text, usesGroup } = bindGroup(query, '@group');
    let statement: Database.Statement;
    try {
      statement = db.prepare(text);
    } catch (err) {
      throw new MlpError('check_failed', `${where}: ${(err as Error).message}`);
    }
    if (!statement.reader) throw new MlpError('check_failed', `${where}: the query returns no rows; data checks need a SELECT`);
    const names = statement.columns().map((c) => c.name);
    rejectRepeatedNames(names, where);
    // Integers come back as bigint, REAL values as number: that keeps 2.0 a float, as pandas would.
    const rows = statement
      .safeIntegers(true)
      .raw(true)
      .all(...groupValues(usesGroup, group, where).map((g) => ({ group: g }))) as unknown[][];
    const records = new RecordsBuilder();
    for (const row of rows) {
      const floats = new Set<string>();
      records.addRow(
        names.map((name, i) => {
          const v = row[i];
          if (typeof v === 'number') floats.add(name);
          return [name, sqliteCell(v)] as const;
        }),
        (name) => floats.has(name),
      );
    }
    return withColumns(records.finish(), names);
  } finally {
    db.close();
  }
}

function sqliteCell(v: unknown): Cell {
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return v.toString('base64');
  return v as Cell;
}

const { builtins } = pg.types;
const INTEGER_TYPES = new Set<number>([builtins.INT2, builtins.INT4, builtins.INT8, builtins.OID]);
const FLOAT_TYPES = new Set<number>([builtins.FLOAT4, builtins.FLOAT8, builtins.NUMERIC, builtins.MONEY]);
const JSON_TYPES = new Set<number>([builtins.JSON, builtins.JSONB]);

/** Numbers as numbers, booleans and JSON parsed, everything else (dates, times, uuids, ...) as its text. */
function pgTypeParser(oid: number): (text: string) => unknown {
  if (INTEGER_TYPES.has(oid)) return Number;
  if (FLOAT_TYPES.has(oid))
    return (text) => {
      const n = Number(text.replace(/[$,]/g, ''));
      return Number.isNaN(n) ? null : n;
    };
  if (oid === builtins.BOOL) return (text) => text === 't';
  if (JSON_TYPES.has(oid)) return (text) => JSON.parse(text);
  return (text) => text;
}

async function postgresQuery(target: QueryTarget, query: string, group: string | undefined, timeoutMs: number): Promise<Dataset> {
  const where = `warehouse '${target.connection}' (${redact(target.url)})`;
  const client = new pg.Client({
    connectionString: target.url,
    connectionTimeoutMillis: Math.min(timeoutMs, 10_000),
    statement_timeout: timeoutMs,
  });
  try {
    await client.connect();
  } catch (err) {
    throw new MlpError('unavailable', `cannot connect to ${where}: ${(err as Error).message}`);
  }
  try {
    const { text, usesGroup } = bindGroup(query, '$1');
    const result = await client.query<unknown[]>({
      text,
      values: groupValues(usesGroup, group, where),
      rowMode: 'array',
      types: { getTypeParser: ((oid: number) => pgTypeParser(oid)) as typeof pg.types.getTypeParser },
    });
    if (!result.fields?.length) throw new MlpError('check_failed', `${where}: the query returns no rows; data checks need a SELECT`);
    const names = result.fields.map((f) => f.name);
    rejectRepeatedNames(names, where);
    const floats = new Set(result.fields.filter((f) => FLOAT_TYPES.has(f.dataTypeID)).map((f) => f.name));
    const records = new RecordsBuilder();
    for (const row of result.rows)
      records.addRow(
        names.map((name, i) => [name, row[i] as Cell] as const),
        (name) => floats.has(name),
      );
    return withColumns(records.finish(), names);
  } catch (err) {
    if (err instanceof MlpError) throw err;
    throw new MlpError('check_failed', `${where}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A query with no rows still has its columns (no values: dtype object, as in pandas). */
function withColumns(data: Dataset, names: string[]): Dataset {
  if (data.rowCount > 0) return data;
  return { rowCount: 0, columns: names.map((name) => ({ name, dtype: 'object', values: [] })) };
}

function rejectRepeatedNames(names: string[], where: string): void {
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) {
    throw new MlpError(
      'check_failed',
      `${where}: the query returns more than one column named '${repeated}'; name them apart (... AS other_name)`,
    );
  }
}
