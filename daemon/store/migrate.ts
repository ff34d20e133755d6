import type Database from 'better-sqlite3';
import { MlpError } from '../../shared/errors.js';

/** One schema change. `up` runs inside the migration transaction: synchronous, no `await`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}

export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * Brings the schema to the last of `migrations`, keyed by `PRAGMA user_version`.
 *
 * All pending migrations run in one IMMEDIATE transaction, so a failure leaves the database at its
 * old version and a second daemon opening the same file waits instead of migrating twice. Foreign
 * keys are off while migrations run (a future migration may rebuild a table that others reference,
 * the way SQLite documents it) and checked in full before commit.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[], file: string = db.name): MigrationResult {
  checkOrder(migrations);
  const latest = migrations.at(-1)?.version ?? 0;
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    return db
      .transaction((): MigrationResult => {
        const from = db.pragma('user_version', { simple: true }) as number;
        if (from > latest) {
          throw new MlpError(
            'unavailable',
            `${file} was written by a newer mlp (schema v${from}, this mlp knows up to v${latest}): upgrade mlp or use another --data-dir`,
            { details: { file, schemaVersion: from, knownVersion: latest } },
          );
        }
        if (from === 0 && latest > 0) refuseForeignDatabase(db, file);
        for (const m of migrations) {
          if (m.version <= from) continue;
          try {
            m.up(db);
          } catch (err) {
            throw new MlpError('unavailable', `${file}: migration ${m.version} (${m.name}) failed: ${messageOf(err)}`, {
              cause: err,
              details: { file, migration: m.version },
            });
          }
          db.pragma(`user_version = ${m.version}`);
        }
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) {
          throw new MlpError('unavailable', `${file}: migrations left ${broken.length} rows with dangling foreign keys`, {
            details: { file, rows: broken.slice(0, 10) },
          });
        }
        return { from, to: Math.max(from, latest) };
      })
      .immediate();
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
  }
}

/** Versions strictly increase; a gap is a number reserved for another line of work. */
function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    const before = i === 0 ? 0 : migrations[i - 1]!.version;
    if (!Number.isInteger(m.version) || m.version <= before) {
      throw new MlpError('internal', `migration list out of order: position ${i + 1} holds version ${m.version} (${m.name}) after version ${before}`);
    }
  });
}

/** A SQLite file that holds tables but no mlp schema version is someone else's database. */
function refuseForeignDatabase(db: Database.Database, file: string): void {
  const row = db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'`).get() as { n: number };
  if (row.n > 0) {
    throw new MlpError('unavailable', `${file} is a SQLite database but not an mlp one: use another --data-dir`, {
      details: { file },
    });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
