/** Stable codes of key-management errors (`error.code`). */
export type KeyErrorCode =
  | 'invalid_input'
  | 'key_not_found'
  | 'key_state'
  | 'duplicate_key'
  | 'pepper_mismatch'
  | 'insecure_pepper_file'
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

/** No key has this id. */
export class KeyNotFoundError extends KeyStoreError {
  override readonly name = 'KeyNotFoundError';
  constructor(readonly id: string) {
    super('key_not_found', `no key with id ${JSON.stringify(id)}`);
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
  constructor(where: string, pepperSource?: string) {
    const from = pepperSource ? ` than the one from ${pepperSource}` : '';
    super(
      'pepper_mismatch',
      `the key store at ${where} was created with another pepper${from}; use the pepper it was created with (KEYWARD_PEPPER or its pepper file)`,
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

/** The store cannot be used: locked, unreadable, not a keyward database, or too new. */
export class StoreUnavailableError extends KeyStoreError {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('store_unavailable', message, options);
  }
}
