/** The SQLite extended result code of a better-sqlite3 error, if it is one. */
export function sqliteCode(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('SQLITE_')) return err.code;
  return undefined;
}

export const isUniqueViolation = (err: unknown): boolean => {
  const code = sqliteCode(err);
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
};

export const isForeignKeyViolation = (err: unknown): boolean => sqliteCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY';

/**
 * The database could not be written for a reason outside the daemon's logic (disk full, I/O error,
 * read-only file, locked by another process): the same write can succeed later, so it is retried.
 */
export function isStorageUnavailable(err: unknown): boolean {
  const code = sqliteCode(err);
  if (!code) return false;
  return ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL'].some(
    (c) => code === c || code.startsWith(`${c}_`),
  );
}
