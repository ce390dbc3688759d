import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteKeyStore, StoreUnavailableError } from '../../src/index.js';
import { describeStoreContract, makeRow } from './store-contract.js';
import { tempDir } from './temp.js';

const dir = tempDir();
let n = 0;
const dbPath = () => join(dir, `store-${++n}.db`);

describeStoreContract('sqlite', async () => {
  const store = await SqliteKeyStore.open(dbPath());
  return { store, dispose: () => store.close() };
});

const ctx = { actor: 't', at: new Date(), action: 'create' } as const;

describe('SqliteKeyStore', () => {
  it('keeps keys across reopen, in WAL mode with synchronous=FULL, file mode 0600', async () => {
    const path = dbPath();
    const store = await SqliteKeyStore.open(path);
    const row = makeRow({ name: 'durable' });
    await store.insert(row, ctx);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    await store.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await SqliteKeyStore.open(path);
    expect(await again.findByHash(row.hash)).toMatchObject({ id: row.id, name: 'durable' });
    await again.close();
  });

  it('creates the database, its -wal and its -shm with mode 0600 from the start', async () => {
    const path = dbPath();
    const store = await SqliteKeyStore.open(path);
    await store.insert(makeRow({ owner: 'acme-corp', metadata: { contact: 'ops@acme.example' } }), ctx);
    // While the store is open the WAL holds the row: it must be as private as the database.
    const modes = ['', '-wal', '-shm'].map((suffix) => [suffix, statSync(`${path}${suffix}`).mode & 0o777]);
    expect(modes).toEqual([
      ['', 0o600],
      ['-wal', 0o600],
      ['-shm', 0o600],
    ]);
    await store.close();
  });

  it('uses WAL and synchronous=FULL unless asked for NORMAL, with the busy timeout given', async () => {
    const full = await SqliteKeyStore.open(dbPath());
    expect(full.info()).toEqual({ journalMode: 'wal', synchronous: 'full', busyTimeoutMs: 5000 });
    await full.close();
    const normal = await SqliteKeyStore.open(dbPath(), { synchronous: 'normal', busyTimeoutMs: 123 });
    expect(normal.info()).toEqual({ journalMode: 'wal', synchronous: 'normal', busyTimeoutMs: 123 });
    await normal.close();
  });

  it('migrates idempotently and refuses a schema newer than it knows', async () => {
    const path = dbPath();
    await (await SqliteKeyStore.open(path)).close();
    await (await SqliteKeyStore.open(path)).close();
    const raw = new Database(path);
    expect(raw.prepare('SELECT version FROM keyward_migrations').pluck().all()).toEqual([1, 2]);
    raw.prepare('INSERT INTO keyward_migrations VALUES (99, ?, 0)').run('future');
    raw.close();
    const error = await SqliteKeyStore.open(path).catch((e) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toMatch(/schema version 99/);
  });

  it('reports a file that is not a database as unavailable, in one line', async () => {
    const path = dbPath();
    await writeFile(path, 'this is not a database, just some text. '.repeat(200));
    const error = await SqliteKeyStore.open(path).catch((e) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toMatch(/not a readable keyward database/);
    expect(error.message).not.toContain('\n');
  });

  it('reports a database another process holds locked, after the busy timeout', async () => {
    const path = dbPath();
    const store = await SqliteKeyStore.open(path, { busyTimeoutMs: 50 });
    const holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const error = await store.insert(makeRow(), ctx).catch((e) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.message).toMatch(/locked by another process/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    await store.insert(makeRow(), ctx);
    await store.close();
  });

  it('reports a missing directory as unavailable', async () => {
    const error = await SqliteKeyStore.open(join(dir, 'no', 'such', 'dir.db')).catch((e) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });
});
