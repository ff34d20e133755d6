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
