/**
 * Group discovery (DESIGN §4): the distinct values of a key column in a warehouse table.
 * The embedded default warehouse is a SQLite file; the connection string comes from mlp.yaml.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { MlpError } from '../../shared/errors.js';

export interface GroupSource {
  /** Connection name as written in `groups.source` (`<connection>.<table>`). */
  connection: string;
  table: string;
  /** Key column; default: the table's first column. */
  key?: string;
}

/** Reads the groups named by `source`, or throws an MlpError that names what is missing. */
export async function discoverGroups(
  source: GroupSource,
  warehouses: Record<string, string>,
  repoRoot: string,
): Promise<string[]> {
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
  const scheme = url.split(':')[0];
  throw new MlpError('unavailable', `warehouse '${source.connection}': ${scheme} connections are not supported yet (use sqlite:FILE)`);
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
