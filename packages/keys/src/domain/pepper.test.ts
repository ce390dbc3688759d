import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeywardConfigError } from 'keyward';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../store/memory.js';
import { InsecurePepperFileError, PepperMismatchError } from './errors.js';
import {
  bindPepper,
  checkPepperFingerprint,
  generatePepper,
  KeyHasher,
  newPepperFingerprint,
  PEPPER_FINGERPRINT,
  pepperWeakness,
  resolvePepper,
} from './pepper.js';
import { createPepperFile } from './pepper-file.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-pepper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEPPER = 'Zt4rQ9mXc2LpV7nWb1KsJ8dHf3GyE6aU';
const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

describe('resolvePepper', () => {
  it('creates a 0600 pepper file beside the database on first use, says so, and reuses it', () => {
    const db = join(dir, 'a.db');
    const notes: string[] = [];
    const first = resolvePepper({ databasePath: db, env: {}, notice: (m) => notes.push(m) });
    expect(statSync(`${db}.pepper`).mode & 0o777).toBe(0o600);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(`${db}.pepper`);
    expect(notes[0]).not.toContain(readFileSync(`${db}.pepper`, 'utf8').trim());
    const second = resolvePepper({ databasePath: db, env: {}, notice: (m) => notes.push(m) });
    expect(second.secret.equals(first.secret)).toBe(true);
    expect(notes).toHaveLength(1);
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
  });

  it('only reads an existing pepper file: its folder may be read-only, nothing is written', async () => {
    const sub = mkdtempSync(join(dir, 'ro-'));
    const db = join(sub, 'r.db');
    const first = resolvePepper({ databasePath: db, env: {} });
    const before = statSync(sub).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const again = resolvePepper({ databasePath: db, env: {} });
    expect(again.secret.equals(first.secret)).toBe(true);
    // No temporary file was created and removed beside it.
    expect(statSync(sub).mtimeMs).toBe(before);
  });

  it('prefers the option, then KEYWARD_PEPPER, over the file', () => {
    const db = join(dir, 'b.db');
    expect(resolvePepper({ pepper: PEPPER, databasePath: db, env: {} }).source).toBe('option');
    const env = resolvePepper({ databasePath: db, env: { KEYWARD_PEPPER: PEPPER } });
    expect(env).toEqual({ secret: Buffer.from(PEPPER), source: 'KEYWARD_PEPPER' });
    expect(() => statSync(`${db}.pepper`)).toThrow();
  });

  it('refuses short peppers without echoing them', () => {
    const error = (() => {
      try {
        resolvePepper({ env: { KEYWARD_PEPPER: 'short-secret' } });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(KeywardConfigError);
    expect(error!.message).not.toContain('short-secret');
  });

  it('refuses an existing pepper file that group or others may read or write', () => {
    for (const mode of [0o640, 0o604, 0o620]) {
      const db = join(dir, `open-${mode.toString(8)}.db`);
      writeFileSync(`${db}.pepper`, `${PEPPER}\n`);
      chmodSync(`${db}.pepper`, mode);
      const notes: string[] = [];
      const error = errorOf(() => resolvePepper({ databasePath: db, env: {}, notice: (m) => notes.push(m) }));
      expect(error).toBeInstanceOf(InsecurePepperFileError);
      expect(error).toMatchObject({ code: 'insecure_pepper_file' });
      expect(error.message).toContain(`chmod 600 ${db}.pepper`);
      expect(error.message).not.toContain(PEPPER);
      expect(notes).toEqual([]);
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    'refuses a pepper file owned by another user (needs root to chown)',
    () => {
      const db = join(dir, 'foreign.db');
      writeFileSync(`${db}.pepper`, `${PEPPER}\n`, { mode: 0o600 });
      chownSync(`${db}.pepper`, 65534, 65534);
      const error = errorOf(() => resolvePepper({ databasePath: db, env: {} }));
      expect(error).toBeInstanceOf(InsecurePepperFileError);
      expect(error.message).toMatch(/owned by another user/);
    },
  );

  it('creates the pepper file atomically, never replacing one another process created', () => {
    const file = join(dir, 'race.db.pepper');
    expect(createPepperFile(file, `${PEPPER}-first\n`)).toBe(true);
    expect(createPepperFile(file, `${PEPPER}-second\n`)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(`${PEPPER}-first\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The temporary files the content was written to first are gone.
    expect(readdirSync(dir).filter((f) => f.startsWith('race.db.pepper'))).toEqual(['race.db.pepper']);
  });

  it('waits for a pepper file another process created but has not written yet', async () => {
    const db = join(dir, 'late.db');
    writeFileSync(`${db}.pepper`, '', { mode: 0o600 });
    // Another process writes the pepper a moment after creating the file.
    const writer = spawn(process.execPath, [
      '-e',
      `setTimeout(() => require('node:fs').writeFileSync(${JSON.stringify(`${db}.pepper`)}, ${JSON.stringify(`${PEPPER}\n`)}), 100)`,
    ]);
    const exited = new Promise((r) => writer.on('exit', r));
    try {
      const pepper = resolvePepper({ databasePath: db, env: {} });
      expect(pepper.secret.toString()).toBe(PEPPER);
    } finally {
      await exited;
    }
  });
});

describe('KeyHasher', () => {
  it('digests keys under the pepper: stable, pepper-dependent, not the plain SHA-256', () => {
    const key = 'kw_0123456789abcdefghijklmnopqrstuvABCDEF';
    const a = new KeyHasher(Buffer.from(PEPPER));
    expect(a.digest(key)).toBe(new KeyHasher(Buffer.from(PEPPER)).digest(key));
    expect(a.digest(key)).not.toBe(new KeyHasher(Buffer.from('q'.repeat(32))).digest(key));
    expect(a.digest(key)).not.toBe(createHash('sha256').update(key).digest('binary'));
    // The 32 bytes, one character each.
    expect(a.digest(key)).toHaveLength(32);
    expect(Buffer.from(a.digest(key), 'latin1').toString('latin1')).toBe(a.digest(key));
  });

  it('is HMAC-SHA256 under the pepper, with a fingerprint that tells peppers apart', () => {
    const a = new KeyHasher(Buffer.from(PEPPER));
    expect(a.hash('kw_x').equals(createHmac('sha256', PEPPER).update('kw_x').digest())).toBe(true);
    expect(a.fingerprint).toBe(new KeyHasher(Buffer.from(PEPPER)).fingerprint);
    expect(a.fingerprint).not.toBe(new KeyHasher(Buffer.from('q'.repeat(32))).fingerprint);
    expect(a.fingerprint).not.toContain(PEPPER);
  });
});

describe('weak peppers', () => {
  const weak = [
    'a'.repeat(32),
    'ab'.repeat(16),
    'password1234password1234password',
    '12345678901234567890123456789012',
    '31415926535897932384626433832795', // 32 digits: about 106 bits
    `Zt4rQ9mXc2LpV7nW${'x'.repeat(8)}1KsJ8dHf`,
  ];

  it('refuses low variety, repeats, runs and short alphabets from every source, without echoing them', () => {
    for (const pepper of weak) {
      for (const resolve of [
        () => resolvePepper({ pepper }),
        () => resolvePepper({ env: { KEYWARD_PEPPER: pepper } }),
        () => {
          const db = join(dir, `weak-${randomName()}.db`);
          writeFileSync(`${db}.pepper`, `${pepper}\n`, { mode: 0o600 });
          return resolvePepper({ databasePath: db, env: {} });
        },
      ]) {
        const error = errorOf(resolve);
        expect(error, pepper).toBeInstanceOf(KeywardConfigError);
        expect(error.message).toMatch(/is too weak: it .*; make one with: npx keyward pepper generate/);
        expect(error.message).not.toContain(pepper);
      }
    }
    expect(() => resolvePepper({ pepper: Buffer.alloc(32) })).toThrow(/only 1 distinct bytes/);
    expect(() => resolvePepper({ pepper: Buffer.alloc(32, 'abcdefghij') })).toThrow(
      /sequence of 10 bytes repeated/,
    );
  });

  it('accepts what random generators make, in every usual encoding', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(32);
      for (const pepper of [
        generatePepper(),
        bytes.toString('base64'),
        bytes.toString('hex'),
        bytes.subarray(0, 16).toString('hex').toUpperCase(),
        bytes,
      ]) {
        expect(pepperWeakness(pepper)).toBeUndefined();
      }
    }
    expect(generatePepper()).toMatch(/^[0-9A-Za-z_-]{43}$/);
  });
});

describe('the pepper fingerprint', () => {
  const secret = Buffer.from(PEPPER);
  const legacy = new KeyHasher(secret).fingerprint;

  it('is scrypt under a fresh salt: no fixed HMAC to test guesses against, different in every store', async () => {
    const a = await newPepperFingerprint(secret);
    const b = await newPepperFingerprint(secret);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[0-9A-Za-z_-]{22}\$[0-9A-Za-z_-]{43}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(legacy);
    expect(a).not.toContain(
      createHmac('sha256', secret).update('keyward pepper fingerprint v1').digest('base64url'),
    );
    expect(await checkPepperFingerprint(secret, a, legacy)).toBe('match');
    expect(await checkPepperFingerprint(secret, b, legacy)).toBe('match');
    const other = Buffer.from(generatePepper());
    expect(await checkPepperFingerprint(other, a, new KeyHasher(other).fingerprint)).toBe('mismatch');
  });

  it('replaces a matching fingerprint of keyward 0.1 once, and refuses a wrong pepper against either', async () => {
    const meta = new Map<string, string>([[PEPPER_FINGERPRINT, legacy]]);
    const store = Object.assign(new MemoryKeyStore(), {
      readMeta: async (name: string) => meta.get(name),
      swapMeta: async (name: string, expected: string | undefined, value: string) => {
        if (meta.get(name) !== expected) return false;
        meta.set(name, value);
        return true;
      },
    });
    const other = Buffer.from(generatePepper());
    await expect(bindPepper(store, other, new KeyHasher(other).fingerprint)).rejects.toBeInstanceOf(
      PepperMismatchError,
    );
    expect(meta.get(PEPPER_FINGERPRINT)).toBe(legacy);
    await bindPepper(store, secret, legacy);
    const upgraded = meta.get(PEPPER_FINGERPRINT)!;
    expect(upgraded).toMatch(/^scrypt\$/);
    await bindPepper(store, secret, legacy);
    expect(meta.get(PEPPER_FINGERPRINT)).toBe(upgraded);
    await expect(bindPepper(store, other, new KeyHasher(other).fingerprint)).rejects.toBeInstanceOf(
      PepperMismatchError,
    );
  });

  it('refuses a recorded fingerprint whose costs would make opening the store take minutes', async () => {
    const huge = `scrypt$1048576$32$1$${'A'.repeat(22)}$${'A'.repeat(43)}`;
    await expect(checkPepperFingerprint(secret, huge, legacy)).rejects.toThrow(/costs out of range/);
  });
});

let names = 0;
function randomName(): string {
  return `${process.pid}-${++names}`;
}
