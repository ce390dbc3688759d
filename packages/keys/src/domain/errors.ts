import { isKeyId } from './ids.js';

/** Stable codes of key-management errors (`error.code`). */
export type KeyErrorCode =
  | 'invalid_input'
  | 'key_not_found'
  | 'owner_not_found'
  | 'key_state'
  | 'duplicate_key'
  | 'pepper_mismatch'
  | 'insecure_pepper_file'
  | 'insecure_store_file'
  | 'store_unavailable';

/** Base class of key-management errors. Messages never contain a key or a hash. */
export class KeyStoreError extends Error {
  override readonly name: string = 'KeyStoreError';
  constructor(
    readonly code: KeyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A lifecycle input is invalid: a name, scope, duration, limit or metadata value. */
export class KeyInputError extends KeyStoreError {
  override readonly name = 'KeyInputError';
  constructor(message: string) {
    super('invalid_input', message);
  }
}

/**
 * What to say about an argument that is not a key id, without repeating it: people paste
 * the key itself where an id is asked for (to revoke a leaked key, say), and a message
 * that repeated it would carry the key into terminals, CI logs and API responses.
 */
export function notAKeyId(value: unknown): string {
  const what =
    typeof value === 'string' && /^[\x21-\x7e]{16,}$/.test(value)
      ? 'that looks like a key, not a key id'
      : 'that is not a key id';
  return `${what} (ids look like key_…; keys list shows them beside the first characters of each key)`;
}

/** No key has this id, or the argument was not a key id at all. */
export class KeyNotFoundError extends KeyStoreError {
  override readonly name = 'KeyNotFoundError';
  /** The id asked for; `null` when the argument was not a key id (it is never kept: it may be a key). */
  readonly id: string | null;
  constructor(id: string) {
    const valid = typeof id === 'string' && isKeyId(id);
    super('key_not_found', valid ? `no key with id "${id}"` : notAKeyId(id));
    this.id = valid ? id : null;
  }
}

/** The key's state forbids the change (rotating a revoked or already rotated key). */
export class KeyStateError extends KeyStoreError {
  override readonly name = 'KeyStateError';
  constructor(message: string) {
    super('key_state', message);
  }
}

/** A key with the same value is already stored (its keyed hash is the unique index). */
export class DuplicateKeyError extends KeyStoreError {
  override readonly name = 'DuplicateKeyError';
  constructor() {
    super('duplicate_key', 'a key with the same value is already stored');
  }
}

/**
 * The store was created with another pepper. Raised when the store is opened, so a
 * wrong `KEYWARD_PEPPER` fails at once instead of silently rejecting every key.
 */
export class PepperMismatchError extends KeyStoreError {
  override readonly name = 'PepperMismatchError';
  /** `missingFile`: the store has a pepper, but the pepper file that should hold it is gone. */
  constructor(where: string, pepperSource?: string, missingFile?: string) {
    const from = pepperSource ? ` than the one from ${pepperSource}` : '';
    super(
      'pepper_mismatch',
      missingFile
        ? `the key store at ${where} was created with a pepper, but its pepper file ${missingFile} is missing; restore it from the backup of the database, or set KEYWARD_PEPPER (a new pepper would verify no stored key)`
        : `the key store at ${where} was created with another pepper${from}; use the pepper it was created with (KEYWARD_PEPPER or its pepper file)`,
    );
  }
}

/**
 * The pepper file is owned by another user, or group or others may read or write it.
 * Refused rather than used: anyone who can read the pepper can test stolen hashes offline.
 */
export class InsecurePepperFileError extends KeyStoreError {
  override readonly name = 'InsecurePepperFileError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super('insecure_pepper_file', `refusing pepper file ${file}: it ${problem}`);
  }
}

/**
 * A key store file (the SQLite database, or its `-wal`/`-shm` file) is owned by another
 * user, or group or others may write it. Refused rather than used: whoever can write the
 * database can add scopes to a key, un-revoke it or extend it, without the pepper.
 */
export class InsecureStoreFileError extends KeyStoreError {
  override readonly name = 'InsecureStoreFileError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super('insecure_store_file', `refusing key store file ${file}: it ${problem}`);
  }
}

/** The store cannot be used: locked, unreadable, not a keyward database, or too new. */
export class StoreUnavailableError extends KeyStoreError {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('store_unavailable', message, options);
  }
}
