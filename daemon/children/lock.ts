/**
 * One daemon per data dir. Two daemons on one data dir would both schedule, roll out and serve
 * from the same store, and the second would take the first's children for leftovers and stop them.
 *
 * The lock is a kernel file lock (SQLite's, on `<data dir>/mlpd.lock` in exclusive locking mode):
 * the kernel drops it the instant its holder dies, even by kill -9, so a stale lock never blocks a
 * restart and no pid file has to be second-guessed. `mlpd.pid` beside it only names the holder in
 * the error.
 */
import Database from 'better-sqlite3';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MlpError } from '../../shared/errors.js';
import { sqliteCode } from '../store/sqlite-errors.js';

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, 'mlpd.lock');
  const pidFile = join(dataDir, 'mlpd.pid');
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in this locking mode it is kept until close.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder; COMMIT');
    db.prepare('INSERT INTO holder VALUES (?)').run(process.pid);
  } catch (err) {
    db.close();
    if (sqliteCode(err) !== 'SQLITE_BUSY') throw err;
    const holder = readHolder(pidFile);
    throw new MlpError(
      'conflict',
      `the data dir ${dataDir} is in use by another mlpd${holder ? ` (pid ${holder})` : ''}: stop it first, or give this one another --data-dir`,
      { details: { dataDir, ...(holder ? { pid: holder } : {}) } },
    );
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  return {
    release() {
      if (!db.open) return;
      rmSync(pidFile, { force: true });
      db.close();
    },
  };
}

function readHolder(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
