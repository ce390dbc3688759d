import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeywardConfigError } from '../core/errors.js';
import { KeyHasher, resolvePepper } from './pepper.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-pepper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEPPER = 'p'.repeat(32);

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

  it('warns when an existing pepper file is readable by others', () => {
    const db = join(dir, 'c.db');
    writeFileSync(`${db}.pepper`, `${PEPPER}\n`);
    chmodSync(`${db}.pepper`, 0o644);
    const notes: string[] = [];
    resolvePepper({ databasePath: db, env: {}, notice: (m) => notes.push(m) });
    expect(notes.join()).toMatch(/readable by other users/);
  });
});

describe('KeyHasher', () => {
  it('is HMAC-SHA256 under the pepper, with a fingerprint that tells peppers apart', () => {
    const a = new KeyHasher(Buffer.from(PEPPER));
    expect(a.hash('kw_x').equals(createHmac('sha256', PEPPER).update('kw_x').digest())).toBe(true);
    expect(a.fingerprint).toBe(new KeyHasher(Buffer.from(PEPPER)).fingerprint);
    expect(a.fingerprint).not.toBe(new KeyHasher(Buffer.from('q'.repeat(32))).fingerprint);
    expect(a.fingerprint).not.toContain(PEPPER);
  });
});
