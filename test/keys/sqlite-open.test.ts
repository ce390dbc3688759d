// Opening a key manager on a SQLite file with @keyward/sqlite alone (no server package).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PepperMismatchError } from '@keyward/keys';
import { openSqliteKeyManager } from '@keyward/sqlite';
import { KeywardConfigError } from 'keyward';
import { describe, expect, it } from 'vitest';
import { tempDir } from './temp.js';

const dir = tempDir('keyward-open-');
const quiet = { notice: () => {}, env: {} };

describe('openSqliteKeyManager', () => {
  it('creates the database and a private pepper file once, then reopens with them', async () => {
    const path = join(dir, 'keys.db');
    const first = await openSqliteKeyManager(path, quiet);
    const { key } = await first.create({ name: 'x' });
    await first.close();
    expect(statSync(`${path}.pepper`).mode & 0o777).toBe(0o600);
    const again = await openSqliteKeyManager(path, quiet);
    expect((await again.check(key)).outcome).toBe('valid');
    await again.close();
  });

  it('refuses a weak pepper before creating the database file', async () => {
    const path = join(dir, 'weak.db');
    await expect(openSqliteKeyManager(path, { ...quiet, pepper: 'a'.repeat(32) })).rejects.toThrow(
      KeywardConfigError,
    );
    expect(existsSync(path)).toBe(false);
  });

  it('does not make a new pepper file for a database that has one recorded', async () => {
    const path = join(dir, 'lost.db');
    await (await openSqliteKeyManager(path, quiet)).close();
    const { rmSync } = await import('node:fs');
    rmSync(`${path}.pepper`);
    await expect(openSqliteKeyManager(path, quiet)).rejects.toThrow(PepperMismatchError);
    expect(existsSync(`${path}.pepper`)).toBe(false);
  });
});
