import { createHmac, createSecretKey, hash, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { KeywardConfigError } from 'keyward';
import { createPepperFile, readPepperFile } from './pepper-file.js';

/** A pepper must carry at least this many characters (the generated ones have 43). */
export const MIN_PEPPER_LENGTH = 32;

/** The server-side secret keyed hashes are made with, and where it came from. */
export interface Pepper {
  readonly secret: Buffer;
  /** For messages: `KEYWARD_PEPPER`, the file path, `option` or `ephemeral`. */
  readonly source: string;
}

export interface ResolvePepperOptions {
  /** An explicit pepper wins over everything. */
  pepper?: string | Buffer;
  /** Read for `KEYWARD_PEPPER`; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The database file; the pepper file is `<database>.pepper`. Omit for in-memory stores. */
  databasePath?: string;
  /** Told when a pepper file is created; default: a line on stderr. */
  notice?: (message: string) => void;
}

function fromText(text: string, source: string): Pepper {
  const value = text.trim();
  if (value.length < MIN_PEPPER_LENGTH) {
    throw new KeywardConfigError(
      `the pepper from ${source} must have at least ${MIN_PEPPER_LENGTH} characters`,
    );
  }
  return { secret: Buffer.from(value, 'utf8'), source };
}

/**
 * Finds the pepper: the explicit option, else `KEYWARD_PEPPER`, else the file beside the
 * database, created on first use with 256 random bits and mode 0600 (and said so).
 * A pepper file owned by another user, or open to group or others, is refused with
 * `InsecurePepperFileError`. In-memory stores without either get an ephemeral pepper.
 */
export function resolvePepper(options: ResolvePepperOptions = {}): Pepper {
  const notice = options.notice ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (options.pepper !== undefined) {
    if (Buffer.isBuffer(options.pepper)) {
      if (options.pepper.length < MIN_PEPPER_LENGTH) {
        throw new KeywardConfigError(`the pepper must have at least ${MIN_PEPPER_LENGTH} bytes`);
      }
      return { secret: Buffer.from(options.pepper), source: 'option' };
    }
    return fromText(options.pepper, 'option');
  }
  const env = (options.env ?? process.env).KEYWARD_PEPPER;
  if (env !== undefined && env !== '') return fromText(env, 'KEYWARD_PEPPER');
  if (options.databasePath === undefined) return { secret: randomBytes(32), source: 'ephemeral' };

  const file = `${options.databasePath}.pepper`;
  let created = false;
  // An existing file is only read: its folder may be read-only, and nothing needs writing.
  if (!existsSync(file)) {
    try {
      // Create only if absent, so two processes starting together agree on one pepper.
      created = createPepperFile(file, `${randomBytes(32).toString('base64url')}\n`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new KeywardConfigError(`cannot create pepper file ${file} (${code})`);
    }
  }
  if (created) {
    notice(
      `keyward: created pepper file ${file} (mode 0600). Keep it with the database and back it up: without it no stored key verifies. Set KEYWARD_PEPPER to manage it yourself.`,
    );
  }
  return fromText(readPepperFile(file), file);
}

/** Keyed hashing of keys: HMAC-SHA256 under the pepper, and a cheaper keyed digest. */
export class KeyHasher {
  // A KeyObject, not the Buffer: createHmac then skips importing the key (a sixth of its cost).
  readonly #secret: KeyObject;
  readonly #digestKey: string;
  /** Identifies the pepper without revealing it; stores record it to refuse another pepper. */
  readonly fingerprint: string;

  constructor(pepper: Pepper | Buffer) {
    this.#secret = createSecretKey(Buffer.from(Buffer.isBuffer(pepper) ? pepper : pepper.secret));
    this.fingerprint = createHmac('sha256', this.#secret)
      .update('keyward pepper fingerprint v1')
      .digest('base64url');
    this.#digestKey = createHmac('sha256', this.#secret).update('keyward key digest v1').digest('base64url');
  }

  /**
   * SHA-256 of a subkey of the pepper and the key: one SHA-256 (an HMAC costs several
   * times more here), for the in-memory caches and the key's tag (`tagOf`). A secret
   * prefix is safe for these uses: the digest is never shown or stored whole, so length
   * extension has nothing to extend. Its 32 bytes as a 32-character latin1 string: a
   * shorter map key than base64url's 43 characters, and nothing to encode.
   */
  digest(key: string): string {
    // 'binary' is Node's name for latin1 in the digest typings.
    return hash('sha256', this.#digestKey + key, 'binary');
  }

  /** The 32-byte keyed hash a key is stored and looked up by. */
  hash(key: string): Buffer {
    return createHmac('sha256', this.#secret).update(key, 'utf8').digest();
  }
}
