import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MlpError } from '../../shared/errors.js';
import { AuditRepository } from './audit.js';
import { DecisionsRepository } from './decisions.js';
import { FleetReadsRepository } from './fleet-reads.js';
import { LogsRepository } from './logs.js';
import { migrate } from './migrate.js';
import { migrations } from './migrations/index.js';
import { ModelVersionsRepository } from './model-versions.js';
import { NotificationsRepository } from './notifications.js';
import { PipelinesRepository } from './pipelines.js';
import { RolloutsRepository } from './rollouts.js';
import { RunsRepository } from './runs.js';
import { sqliteCode } from './sqlite-errors.js';
import { StepRunsRepository } from './step-runs.js';
import { TokensRepository } from './tokens.js';
import { VariantsRepository } from './variants.js';

/** Everything the daemon persists, one repository per table. */
export interface Store {
  /** The database file. */
  readonly file: string;
  readonly pipelines: PipelinesRepository;
  readonly runs: RunsRepository;
  readonly stepRuns: StepRunsRepository;
  readonly logs: LogsRepository;
  readonly modelVersions: ModelVersionsRepository;
  readonly rollouts: RolloutsRepository;
  readonly decisions: DecisionsRepository;
  readonly audit: AuditRepository;
  readonly tokens: TokensRepository;
  readonly variants: VariantsRepository;
  /** The notification outbox. */
  readonly notifications: NotificationsRepository;
  /** What status shows of many pipelines, read at once. */
  readonly fleetReads: FleetReadsRepository;
  /** Runs `fn` in one transaction (nested calls become savepoints). `fn` must be synchronous. */
  transaction<T>(fn: () => T): T;
  /** Checkpoints the WAL into the main file and closes; later calls do nothing. */
  close(): void;
}

export interface StoreOptions {
  /** The clock for timestamps a caller does not pass (epoch ms). */
  now?: () => number;
  /** Called with every statement executed (tests count the statements a status costs). */
  trace?: (sql: string) => void;
}

export const STORE_FILE = 'mlp.db';

/** Opens (creating if needed) `<dataDir>/mlp.db`; the data dir is created private (0700). */
export function openStore(dataDir: string, options: StoreOptions = {}): Store {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return openStoreAt(join(dataDir, STORE_FILE), options);
}

/** Opens the database at `file` and brings its schema up to date. */
export function openStoreAt(file: string, options: StoreOptions = {}): Store {
  const now = options.now ?? Date.now;
  let db: Database.Database;
  try {
    db = new Database(file, options.trace ? { verbose: (sql) => options.trace!(String(sql)) } : {});
  } catch (err) {
    throw new MlpError('unavailable', `cannot open ${file}: ${messageOf(err)}`, { cause: err, details: { file } });
  }
  try {
    configure(db, file);
    migrate(db, migrations, file);
  } catch (err) {
    db.close();
    throw err;
  }

  return {
    file,
    pipelines: new PipelinesRepository(db, now),
    runs: new RunsRepository(db, now),
    stepRuns: new StepRunsRepository(db, now),
    logs: new LogsRepository(db, now),
    modelVersions: new ModelVersionsRepository(db, now),
    rollouts: new RolloutsRepository(db, now),
    decisions: new DecisionsRepository(db),
    audit: new AuditRepository(db, now),
    tokens: new TokensRepository(db, now),
    variants: new VariantsRepository(db, now),
    notifications: new NotificationsRepository(db, now),
    fleetReads: new FleetReadsRepository(db),
    transaction: (fn) => db.transaction(fn)(),
    close() {
      if (!db.open) return;
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
}

/** The first statements touch the file, so this is where a file that is not SQLite shows itself. */
function configure(db: Database.Database, file: string): void {
  try {
    db.pragma('busy_timeout = 5000');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new MlpError('unavailable', `${file}: cannot switch to WAL journal mode (got ${String(mode)})`);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (err) {
    const code = sqliteCode(err);
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new MlpError('unavailable', `${file} is not an mlp database (not SQLite, or corrupt): move it away or use another --data-dir`, {
        cause: err,
        details: { file },
      });
    }
    throw err;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
