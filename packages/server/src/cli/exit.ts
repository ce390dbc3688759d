import { KeyStoreError } from '@keyward/keys';
import { KeywardConfigError } from 'keyward';
import type { CliIO } from './io.js';
import { jsonLine, printable } from './render.js';

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
  /** No key store at the database location, and the command may not create one. */
  noStore: 8,
} as const;

/**
 * The `code` of a JSON error (`{"error":{"code","message"}}` on stderr under `--json`),
 * one per exit code: stable names for scripts.
 */
export const errorCodes: Readonly<Record<number, string>> = {
  1: 'error',
  2: 'usage',
  3: 'not_found',
  4: 'unavailable',
  5: 'wrong_pepper',
  6: 'conflict',
  7: 'insecure_file',
  8: 'no_store',
};

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
  8  no key store at the database location (only serve, keys create, keys import and
     init create one)
  With --json an error is one JSON object on stderr: {"error":{"code":"...","message":"..."}}

Environment:
  KEYWARD_DATABASE_URL  database file, sqlite:/file: URL (default ./keyward.db), or postgres:// URL
                        (the store several instances share; ?schema=NAME picks a schema)
  KEYWARD_PEPPER        secret for keyed hashes (default: <database>.pepper, created on first use;
                        required with PostgreSQL; make one with: npx keyward pepper generate)
  KEYWARD_KEY_PREFIX    this deployment's key prefix (default kw), as --key-prefix; see keyward keys pattern
  KEYWARD_API_KEYS      serve: comma-separated static keys instead of the key store
  KEYWARD_REDIS_URL     serve: share rate limits between instances through this Redis
  KEYWARD_REDIS_PREFIX  serve: key prefix in Redis (default keyward:rl)
  KEYWARD_GITHUB_SCANNING_KEYS, KEYWARD_LEAK_ACTION, KEYWARD_REVOKE_LIMIT  serve: the same as
                        --github-scanning-keys, --leak-action, --revoke-limit (docs/operations/leaks.md)
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
      case 'store_not_found':
        return exitCodes.noStore;
    }
  }
  return exitCodes.error;
}

/**
 * Prints an error and returns its exit code: one line `keyward: ...` on stderr (never a
 * stack trace), or with `json` one JSON object `{"error":{"code","message"}}`.
 */
export function fail(
  io: Pick<CliIO, 'stderr'>,
  error: unknown,
  json = false,
  code = exitCodeOf(error),
): number {
  const text = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
  if (json) io.stderr.write(jsonLine({ error: { code: errorCodes[code] ?? 'error', message: text } }));
  else io.stderr.write(`keyward: ${printable(text)}\n`);
  return code;
}

/**
 * Thrown by a command that has printed its outcome and only sets the exit code (`keys
 * verify` on an invalid key, `doctor` on a failed check): nothing more is printed.
 */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
