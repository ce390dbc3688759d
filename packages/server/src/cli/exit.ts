import { KeyStoreError } from '@keyward/keys';
import { KeywardConfigError } from 'keyward';
import type { CliIO } from './io.js';
import { printable } from './render.js';

/** Documented exit codes of the `keyward` command. */
export const exitCodes = {
  ok: 0,
  /** Unexpected failure. */
  error: 1,
  /** Bad command line or input: unknown option, bad duration, scope, limit, JSON, import lines. */
  usage: 2,
  /** No key with that id (or no owner with that name). */
  notFound: 3,
  /** The database is locked, unreadable, not a keyward database, or too new. */
  unavailable: 4,
  /** The pepper is not the one the database was created with. */
  wrongPepper: 5,
  /** The key's state forbids the change (rotating a revoked or rotated key), or a duplicate key. */
  conflict: 6,
  /**
   * The pepper file is owned by another user, or group or others may read or write it; or
   * a key store file (database, -wal, -shm) is owned by another user, or group or others may write it.
   */
  insecureFile: 7,
} as const;

/** The `keyward --help` epilog. */
export const exitCodesHelp = `
Exit codes:
  0  success
  1  unexpected error
  2  bad command line or input (options, durations, scopes, limits, JSON, import lines)
  3  no key with that id (or no owner with that name)
  4  database locked, unreadable, not a keyward database, or newer than this keyward
  5  wrong pepper (KEYWARD_PEPPER or the pepper file is not the database's)
  6  the key's state forbids the change (e.g. rotating a revoked key), or a duplicate key
  7  insecure pepper file (owned by another user, or readable by group or others), or
     insecure database file (owned by another user, or writable by group or others)

Environment:
  KEYWARD_DATABASE_URL  database file, sqlite:/file: URL (default ./keyward.db), or postgres:// URL
                        (the store several instances share; ?schema=NAME picks a schema)
  KEYWARD_PEPPER        secret for keyed hashes (default: <database>.pepper, created on first use;
                        required with PostgreSQL; make one with: keyward pepper generate)
  KEYWARD_API_KEYS      serve: comma-separated static keys instead of the key store
  KEYWARD_REDIS_URL     serve: share rate limits between instances through this Redis
  KEYWARD_REDIS_PREFIX  serve: key prefix in Redis (default keyward:rl)
  KEYWARD_BUSY_TIMEOUT_MS  how long to wait for a locked database (default 5000)
  PORT, HOST, KEYWARD_HEADERS_TIMEOUT, KEYWARD_REQUEST_TIMEOUT, KEYWARD_KEEP_ALIVE_TIMEOUT,
  KEYWARD_MAX_CONNECTIONS  serve: the same as --port, --host, --headers-timeout, ...
`;

export function exitCodeOf(error: unknown): number {
  if (error instanceof KeywardConfigError) return exitCodes.usage;
  if (error instanceof KeyStoreError) {
    switch (error.code) {
      case 'invalid_input':
        return exitCodes.usage;
      case 'key_not_found':
      case 'owner_not_found':
        return exitCodes.notFound;
      case 'store_unavailable':
        return exitCodes.unavailable;
      case 'pepper_mismatch':
        return exitCodes.wrongPepper;
      case 'key_state':
      case 'duplicate_key':
        return exitCodes.conflict;
      case 'insecure_pepper_file':
      case 'insecure_store_file':
        return exitCodes.insecureFile;
    }
  }
  return exitCodes.error;
}

/** Prints a one-line error (never a stack trace) and returns the exit code. */
export function fail(io: Pick<CliIO, 'stderr'>, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`keyward: ${printable(message.replace(/\s*\n\s*/g, ' '))}\n`);
  return exitCodeOf(error);
}
