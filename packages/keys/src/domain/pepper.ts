import {
  createHmac,
  createSecretKey,
  hash,
  type KeyObject,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { existsSync } from 'node:fs';
import { KeywardConfigError } from 'keyward';
import type { KeyStore } from '../store/types.js';
import { PepperMismatchError, StoreUnavailableError } from './errors.js';
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
  /**
   * Whether a missing pepper file may be created (default true). False when the database
   * already has a pepper: a new file would only make every stored key fail, so the
   * missing file is reported instead (`PepperMismatchError`).
   */
  createFile?: boolean;
}

/** The least a pepper must be worth, estimated from its length and alphabet. */
const MIN_PEPPER_BITS = 128;
/** What to tell people whose pepper is refused. */
const MAKE_ONE = 'make one with: npx keyward pepper generate (or openssl rand -base64 32)';

/**
 * Bits per character of the smallest usual alphabet the text fits in: a 32-digit number
 * holds about 106 bits, 32 hex digits 128, 32 base64 characters 192.
 */
function bitsPerCharacter(text: string): number {
  if (/^[0-9]+$/.test(text)) return Math.log2(10);
  if (/^[0-9a-f]+$/.test(text) || /^[0-9A-F]+$/.test(text)) return 4;
  if (/^[a-z]+$/.test(text) || /^[A-Z]+$/.test(text)) return Math.log2(26);
  if (/^[0-9a-z]+$/.test(text) || /^[0-9A-Z]+$/.test(text)) return Math.log2(36);
  if (/^[0-9A-Za-z]+$/.test(text)) return Math.log2(62);
  return 6;
}

/**
 * Why a pepper is obviously weak, or `undefined`. Not a strength meter: it refuses what
 * no random generator produces (few distinct symbols, a repeated pattern, a long run of
 * one symbol) and what is too short for its alphabet, so a stolen database cannot be
 * matched against a short list of guesses. Random peppers never trip it: 32 random hex
 * digits hold at least 8 distinct ones and no run of 8 with overwhelming probability.
 */
export function pepperWeakness(pepper: string | Uint8Array): string | undefined {
  const symbols: readonly (string | number)[] = typeof pepper === 'string' ? [...pepper] : [...pepper];
  const unit = typeof pepper === 'string' ? 'characters' : 'bytes';
  if (symbols.length < MIN_PEPPER_LENGTH) return `must have at least ${MIN_PEPPER_LENGTH} ${unit}`;
  const distinct = new Set(symbols).size;
  if (distinct < 8) return `has only ${distinct} distinct ${unit}`;
  let run = 1;
  for (let i = 1; i < symbols.length; i++) {
    run = symbols[i] === symbols[i - 1] ? run + 1 : 1;
    if (run >= 8) return `repeats one of its ${unit} ${run} times in a row`;
  }
  for (let period = 1; period <= symbols.length / 2; period++) {
    let repeats = true;
    for (let i = period; i < symbols.length && repeats; i++) repeats = symbols[i] === symbols[i - period];
    if (repeats) return `is a sequence of ${period} ${unit} repeated`;
  }
  if (typeof pepper === 'string') {
    const body = pepper.replace(/=+$/, '');
    const bits = Math.floor(body.length * bitsPerCharacter(body));
    if (bits < MIN_PEPPER_BITS) return `holds about ${bits} bits, fewer than ${MIN_PEPPER_BITS}`;
  }
  return undefined;
}

function fromText(text: string, source: string): Pepper {
  const value = text.trim();
  const weakness = pepperWeakness(value);
  if (weakness !== undefined) {
    throw new KeywardConfigError(`the pepper from ${source} is too weak: it ${weakness}; ${MAKE_ONE}`);
  }
  return { secret: Buffer.from(value, 'utf8'), source };
}

/** A new random pepper: 256 bits from the CSPRNG, as 43 base64url characters. */
export function generatePepper(): string {
  return randomBytes(32).toString('base64url');
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
      const weakness = pepperWeakness(options.pepper);
      if (weakness !== undefined) {
        throw new KeywardConfigError(`the pepper is too weak: it ${weakness}; ${MAKE_ONE}`);
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
    if (options.createFile === false) {
      throw new PepperMismatchError(options.databasePath, undefined, file);
    }
    try {
      // Create only if absent, so two processes starting together agree on one pepper.
      created = createPepperFile(file, `${generatePepper()}\n`);
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

/** Where stores keep the pepper fingerprint (`KeyStore.readMeta`/`swapMeta`). */
export const PEPPER_FINGERPRINT = 'pepper_fingerprint';

/**
 * scrypt's cost: 16 MiB and tens of milliseconds per guess, once per open. It keeps the
 * fingerprint from being a fast oracle; it cannot make the pepper slow to guess, since
 * anyone with the database and one key of their own can test guesses at HMAC speed
 * against that key's stored hash. A random pepper cannot be guessed either way.
 */
const SCRYPT = { N: 16_384, r: 8, p: 1 } as const;
const STORED = /^scrypt\$(\d{1,7})\$(\d{1,2})\$(\d{1,2})\$([0-9A-Za-z_-]{22,64})\$([0-9A-Za-z_-]{43})$/;

function derive(
  secret: Uint8Array,
  salt: Buffer,
  cost: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, 32, { ...cost, maxmem: 256 * cost.N * cost.r }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/**
 * A fingerprint of the pepper for a store to record: scrypt under a fresh random salt,
 * as `scrypt$N$r$p$salt$hash`. Unlike a plain HMAC of a fixed string, it cannot be
 * tested against a list of guesses cheaply, nor precomputed for every store at once.
 */
export async function newPepperFingerprint(secret: Uint8Array): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Fingerprints this process has verified, with the pepper's legacy fingerprint: a store opened again skips scrypt. */
const verified = new Map<string, string>();

/**
 * Whether a recorded fingerprint was made from this pepper: `match`, `legacy` (the
 * fixed-string HMAC of keyward 0.1, which matches and should be replaced), or `mismatch`.
 */
export async function checkPepperFingerprint(
  secret: Uint8Array,
  stored: string,
  legacy: string,
): Promise<'match' | 'legacy' | 'mismatch'> {
  if (verified.get(stored) === legacy) return 'match';
  const m = STORED.exec(stored);
  if (!m) {
    if (/^[0-9A-Za-z_-]{43}$/.test(stored)) return stored === legacy ? 'legacy' : 'mismatch';
    throw new StoreUnavailableError('the key store holds a pepper fingerprint this keyward cannot read');
  }
  const cost = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  // Bounded, so a crafted store cannot make opening it take minutes or gigabytes.
  if (
    cost.N < 2 ||
    (cost.N & (cost.N - 1)) !== 0 ||
    cost.r < 1 ||
    cost.p < 1 ||
    cost.p > 16 ||
    128 * cost.N * cost.r > 256 * 2 ** 20
  ) {
    throw new StoreUnavailableError('the key store holds a pepper fingerprint with costs out of range');
  }
  const key = await derive(secret, Buffer.from(m[4]!, 'base64url'), cost);
  if (!timingSafeEqual(key, Buffer.from(m[5]!, 'base64url'))) return 'mismatch';
  if (verified.size >= 64) verified.clear();
  verified.set(stored, legacy);
  return 'match';
}

/**
 * Binds a pepper to a store, as `KeyManager.open` does: records a new fingerprint on
 * first use, refuses another pepper with `PepperMismatchError`, and replaces a legacy
 * fingerprint that matches with a new one. Stores without `readMeta`/`swapMeta` get the
 * legacy fingerprint through `bindPepper`.
 */
export async function bindPepper(store: KeyStore, secret: Uint8Array, legacy: string): Promise<void> {
  if (!store.readMeta || !store.swapMeta) return store.bindPepper(legacy);
  // Each round loses only to another process binding or upgrading at the same moment.
  for (let round = 0; round < 5; round++) {
    const stored = await store.readMeta(PEPPER_FINGERPRINT);
    const verdict = stored === undefined ? 'new' : await checkPepperFingerprint(secret, stored, legacy);
    if (verdict === 'match') return;
    if (verdict === 'mismatch') throw new PepperMismatchError(store.location);
    const next = await newPepperFingerprint(secret);
    if (await store.swapMeta(PEPPER_FINGERPRINT, stored, next)) {
      verified.set(next, legacy);
      return;
    }
  }
  throw new StoreUnavailableError(`could not record the pepper fingerprint in ${store.location}`);
}
