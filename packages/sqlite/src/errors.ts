import { KeyStoreError, StoreUnavailableError } from '@keyward/keys/store';

const LOCKED = /^SQLITE_(BUSY|LOCKED)/;
/** Another connection holds the lock (any extended code): the statement did nothing. */
export const BUSY = /^SQLITE_BUSY/;
const NOT_A_DB = /^SQLITE_(NOTADB|CORRUPT)/;
const UNUSABLE = /^SQLITE_(CANTOPEN|PERM|READONLY|IOERR|AUTH|FULL)/;

/**
 * Turns SQLite failures into `StoreUnavailableError`s with a one-line reason. SQLite
 * messages never contain bound values, so no key or hash can leak through them.
 */
export function translateSqliteError(error: unknown, location: string, busyTimeoutMs: number): unknown {
  if (error instanceof KeyStoreError) return error;
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  if (LOCKED.test(code)) {
    return new StoreUnavailableError(
      `database ${location} is locked by another process (gave up after ${busyTimeoutMs} ms)`,
      { cause: error },
    );
  }
  if (NOT_A_DB.test(code)) {
    return new StoreUnavailableError(`${location} is not a readable keyward database (${message})`, {
      cause: error,
    });
  }
  if (UNUSABLE.test(code)) {
    return new StoreUnavailableError(`cannot use database ${location} (${message})`, { cause: error });
  }
  return error;
}
