import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  InsecureStoreFileError,
  KeyInputError,
  KeyManager,
  PepperMismatchError,
  StoreUnavailableError,
} from '@keyward/keys';
import type { NewKeyRow } from '@keyward/keys/store';
import { openKeyManager } from '@keyward/server';
import { SCHEMA_VERSION, SqliteKeyStore, type SqliteStoreOptions } from '@keyward/sqlite';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newOwner } from '../../packages/keys/src/domain/owners.js';
import { KeyHasher } from '../../packages/keys/src/domain/pepper.js';
import { describeStoreContract, makeRow } from '../../packages/keys/src/testing/contract.js';
import { SOURCE_FLAGS } from '../helpers/spawn.js';
import { OTHER_PEPPER, PEPPER, tempDir } from './temp.js';

const dir = tempDir();
let n = 0;
const dbPath = () => join(dir, `store-${++n}.db`);

describeStoreContract('sqlite', async () => {
  const store = await SqliteKeyStore.open(dbPath());
  return { store, dispose: () => store.close() };
});

const ctx = { actor: 't', at: new Date(), action: 'create' } as const;

/** A store at a new file holding one key. */
async function storeWithKey(options?: SqliteStoreOptions, overrides?: Partial<NewKeyRow>) {
  const path = dbPath();
  const store = await SqliteKeyStore.open(path, options);
  const row = makeRow(overrides);
  await store.insert(row, ctx);
  return { path, store, row };
}

/**
 * Another connection holding the database's write lock, as another process would, until
 * `release()` (or for `releaseAfterMs`, then the writes waiting for it go ahead).
 */
function holdWriteLock(path: string, releaseAfterMs?: number) {
  const holder = new Database(path);
  holder.exec('BEGIN IMMEDIATE');
  const end = () => {
    if (holder.inTransaction) holder.exec('ROLLBACK');
  };
  const timer = releaseAfterMs === undefined ? undefined : setTimeout(end, releaseAfterMs);
  return {
    release() {
      clearTimeout(timer);
      end();
      holder.close();
    },
  };
}

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
    // Every version once, numbered without gaps up to the newest: a later version slipped
    // in below an applied one would never run on an existing store.
    const versions = raw.prepare('SELECT version FROM keyward_migrations ORDER BY version').pluck().all();
    expect(versions).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
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
    const lock = holdWriteLock(path);
    try {
      const error = await store.insert(makeRow(), ctx).catch((e) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.message).toMatch(/locked by another process/);
    } finally {
      lock.release();
    }
    await store.insert(makeRow(), ctx);
    await store.close();
  });

  it('reports a missing directory as unavailable', async () => {
    const error = await SqliteKeyStore.open(join(dir, 'no', 'such', 'dir.db')).catch((e) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });
});

describe('where a SQLite database may live', () => {
  const root = process.getuid?.() === 0;
  const refusal = (path: string) =>
    SqliteKeyStore.open(path).then(
      (s) => s.close().then(() => 'opened'),
      (e) => e,
    );
  const folder = (mode: number) => {
    const d = join(dir, `folder-${++n}`);
    mkdirSync(d);
    chmodSync(d, mode);
    return d;
  };

  it('refuses a directory others may write, sticky or not, before creating anything in it', async () => {
    for (const mode of [0o777, 0o1777, 0o757]) {
      const d = folder(mode);
      const error = await refusal(join(d, 'keys.db'));
      expect(error).toBeInstanceOf(InsecureStoreFileError);
      expect(error.message).toMatch(
        /^refusing key store file .*keys\.db: it is in a directory that (group or )?others may write/,
      );
      expect(error.message).toContain(`run: chmod go-w ${realpathSync(d)}`);
      expect(existsSync(join(d, 'keys.db'))).toBe(false);
    }
    // An existing database, once its directory is opened to others.
    const d = folder(0o700);
    expect(await refusal(join(d, 'keys.db'))).toBe('opened');
    chmodSync(d, 0o777);
    expect(await refusal(join(d, 'keys.db'))).toBeInstanceOf(InsecureStoreFileError);
  });

  it("accepts group write when the group is the process's own (user private groups)", async () => {
    const d = folder(0o775);
    chownSync(d, process.getuid!(), process.getgid!());
    expect(await refusal(join(d, 'keys.db'))).toBe('opened');
  });

  it.skipIf(!root)(
    'refuses group write for another group, and a directory another user owns (as root)',
    async () => {
      const shared = folder(0o775);
      chownSync(shared, 0, 65534);
      const error = await refusal(join(shared, 'keys.db'));
      expect(error).toBeInstanceOf(InsecureStoreFileError);
      expect(error.message).toContain('is in a directory that group or others may write');
      const theirs = folder(0o755);
      chownSync(theirs, 65534, 65534);
      const owned = await refusal(join(theirs, 'keys.db'));
      expect(owned).toBeInstanceOf(InsecureStoreFileError);
      expect(owned.message).toContain(
        `is in a directory owned by another user (${realpathSync(theirs)}, uid 65534)`,
      );
    },
  );

  it('checks the file a symbolic link points to, beside which SQLite keeps its -wal', async () => {
    const target = join(folder(0o700), 'real.db');
    await (await SqliteKeyStore.open(target)).close();
    const link = join(dir, `link-${++n}.db`);
    symlinkSync(target, link);
    const store = await SqliteKeyStore.open(link);
    await store.insert(makeRow(), ctx);
    expect(existsSync(`${target}-wal`)).toBe(true);
    await store.close();
    chmodSync(target, 0o666);
    const writable = await refusal(link);
    expect(writable).toBeInstanceOf(InsecureStoreFileError);
    expect(writable.message).toContain(`refusing key store file ${realpathSync(target)}: it is writable`);
    chmodSync(target, 0o600);
    // The directory that counts is the target's, where the -wal file goes.
    chmodSync(dirname(target), 0o777);
    expect(await refusal(link)).toBeInstanceOf(InsecureStoreFileError);
  });

  it.skipIf(!root)(
    'refuses a symbolic link another user owns: they could point it elsewhere (as root)',
    async () => {
      const target = join(folder(0o700), 'real.db');
      await (await SqliteKeyStore.open(target)).close();
      const link = join(dir, `link-${++n}.db`);
      symlinkSync(target, link);
      lchownSync(link, 65534, 65534);
      const error = await refusal(link);
      expect(error).toBeInstanceOf(InsecureStoreFileError);
      expect(error.message).toBe(
        `refusing key store file ${link}: it is a symbolic link owned by another user (uid 65534, not 0)`,
      );
    },
  );
});

describe('the pepper fingerprint in a SQLite database', () => {
  const legacyOf = (pepper: string) => new KeyHasher(Buffer.from(pepper)).fingerprint;
  const stored = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return db
        .prepare("SELECT value FROM keyward_meta WHERE name = 'pepper_fingerprint'")
        .pluck()
        .get() as string;
    } finally {
      db.close();
    }
  };

  it('is a salted scrypt hash, so the fingerprint itself is no fast oracle for guessing the pepper', async () => {
    const paths = [dbPath(), dbPath()];
    for (const database of paths) {
      const m = await openKeyManager({ database, env: { KEYWARD_PEPPER: PEPPER }, pollIntervalMs: 0 });
      await m.close();
    }
    const [a, b] = paths.map(stored);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    // A fresh salt per store: nothing can be precomputed for every keyward database at once.
    expect(a).not.toBe(b);
    for (const path of paths) {
      expect(readFileSync(path).includes(legacyOf(PEPPER))).toBe(false);
    }
  });

  it('replaces the fixed HMAC of a keyward 0.1 database once opened with its pepper, keeping its keys', async () => {
    const database = dbPath();
    const first = await openKeyManager({ database, env: { KEYWARD_PEPPER: PEPPER }, pollIntervalMs: 0 });
    const { key } = await first.create({ name: 'old' });
    await first.close();
    const raw = new Database(database);
    raw.prepare("UPDATE keyward_meta SET value = ? WHERE name = 'pepper_fingerprint'").run(legacyOf(PEPPER));
    raw.close();
    const wrong = await openKeyManager({ database, env: { KEYWARD_PEPPER: OTHER_PEPPER } }).catch((e) => e);
    expect(wrong).toBeInstanceOf(PepperMismatchError);
    expect(stored(database)).toBe(legacyOf(PEPPER));
    const again = await openKeyManager({ database, env: { KEYWARD_PEPPER: PEPPER }, pollIntervalMs: 0 });
    expect((await again.check(key, { dryRun: true })).outcome).toBe('valid');
    await again.close();
    expect(stored(database)).toMatch(/^scrypt\$/);
    const afterwards = await openKeyManager({ database, env: { KEYWARD_PEPPER: OTHER_PEPPER } }).catch(
      (e) => e,
    );
    expect(afterwards).toBeInstanceOf(PepperMismatchError);
  });

  it('is recorded once when several managers open a new database at the same moment', async () => {
    const database = dbPath();
    const managers = await Promise.all(
      Array.from({ length: 4 }, () =>
        openKeyManager({ database, env: { KEYWARD_PEPPER: PEPPER }, pollIntervalMs: 0 }),
      ),
    );
    const recorded = stored(database);
    await Promise.all(managers.map((m) => m.close()));
    const reopened = await openKeyManager({ database, env: { KEYWARD_PEPPER: PEPPER }, pollIntervalMs: 0 });
    await reopened.close();
    expect(stored(database)).toBe(recorded);
  });
});

describe('SqliteKeyStore administrative changes while another connection holds the write lock', () => {
  it('keep the event loop running, then apply once the lock is released', async () => {
    const { path, store, row } = await storeWithKey();
    // Released by a timer on this thread: a change waiting in SQLite's busy handler here
    // would hold the event loop, so the lock could never be released.
    const lock = holdWriteLock(path, 200);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const added = makeRow();
    try {
      const [updated] = await Promise.all([
        store.update(row.id, { name: 'renamed' }, { ...ctx, action: 'update' }),
        store.insert(added, ctx),
      ]);
      expect(updated.name).toBe('renamed');
    } finally {
      clearInterval(timer);
      lock.release();
    }
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(await store.get(row.id)).toMatchObject({ name: 'renamed' });
    expect(await store.findByHash(added.hash)).toMatchObject({ id: added.id });
    const actions = (await store.audit({ limit: 10 })).map((e) => e.action);
    expect(actions.filter((a) => a === 'update')).toHaveLength(1);
    await store.close();
  });

  it('give up after the busy timeout with the store reported unavailable, having changed nothing', async () => {
    const { path, store, row } = await storeWithKey({ busyTimeoutMs: 80 });
    const lock = holdWriteLock(path);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const error = await store.delete(row.id, { ...ctx, action: 'delete' }).catch((e) => e);
    const waited = performance.now() - started;
    clearInterval(timer);
    lock.release();
    // The event loop ran while the change waited (SQLite's busy handler would have held it).
    expect(ticks).toBeGreaterThanOrEqual(3);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toMatch(/locked by another process \(gave up after 80 ms\)/);
    expect(waited).toBeGreaterThanOrEqual(75);
    expect(await store.get(row.id)).toMatchObject({ id: row.id });
    await store.close();
  });

  it('commit in the order they were made once the lock is released', async () => {
    const { path, store, row } = await storeWithKey();
    const lock = holdWriteLock(path, 100);
    const update = (name: string) => store.update(row.id, { name }, { ...ctx, action: 'update' });
    const results = await Promise.all([update('first'), update('second'), update('third')]);
    lock.release();
    expect(results.map((r) => r.name)).toEqual(['first', 'second', 'third']);
    expect((await store.get(row.id))?.name).toBe('third');
    const names = (await store.audit({ keyId: row.id, limit: 10 }))
      .filter((e) => e.action === 'update')
      .map((e) => (e.changes as { name: { to: string } }).name.to)
      .reverse();
    expect(names).toEqual(['first', 'second', 'third']);
    await store.close();
  });

  it('commit while an import runs in the same process (its writer thread holds the lock)', async () => {
    const path = dbPath();
    const manager = await KeyManager.open({
      store: await SqliteKeyStore.open(path, { busyTimeoutMs: 400 }),
      pepper: 'admin-between-batches-pepper-0123456789',
    });
    const { record } = await manager.create({ name: 'before' });
    const keys = Array.from({ length: 60_000 }, () => ({ key: manager.format.generate() }));
    const importing = manager.importKeys(keys, { batchSize: 3000 });
    // Once the import is under way, its writer thread holds the lock most of the time; the
    // store lets a waiting change go before the next batch (its checkpoints leave gaps too).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const renamed = await manager.update(record.id, { name: 'during' });
    expect(renamed.name).toBe('during');
    expect((await importing).imported).toBe(60_000);
    await manager.close();
  }, 30_000);

  it('lets a change waiting for the lock commit before the store closes', async () => {
    const { path, store, row } = await storeWithKey();
    const lock = holdWriteLock(path, 100);
    const updated = store.update(row.id, { name: 'last' }, { ...ctx, action: 'update' });
    await store.close();
    lock.release();
    expect((await updated).name).toBe('last');
    await expect(store.update(row.id, { name: 'late' }, ctx)).rejects.toThrow(StoreUnavailableError);
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT name FROM keyward_keys WHERE id = ?').pluck().get(row.id)).toBe('last');
    raw.close();
  });
});

describe('SqliteKeyStore uses of keys with limited uses (taken from a worker thread)', () => {
  it('keeps the event loop running while another connection holds the write lock, then takes the use', async () => {
    const { path, store, row } = await storeWithKey({}, { remainingUses: 2 });
    // Released by a timer on this thread: a use taken on this thread's connection would
    // hold the event loop in SQLite's busy handler, so the lock could never be released.
    const lock = holdWriteLock(path, 200);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      expect(await store.consumeUse(row.id, new Date(5000))).toBe(1);
    } finally {
      clearInterval(timer);
      lock.release();
    }
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(await store.get(row.id)).toMatchObject({
      remainingUses: 1,
      useCount: 1,
      lastUsedAt: new Date(5000),
    });
    expect(await store.consumeUse(row.id, new Date(6000))).toBe(0);
    expect(await store.consumeUse(row.id, new Date(7000))).toBeNull();
    await store.close();
  });

  it("spends an owner's credits in the writer thread while another connection holds the lock", async () => {
    const { path, store } = await storeWithKey({}, {});
    await store.insertOwner(newOwner({ name: 'acme', credits: 7 }, 0), { ...ctx, action: 'owner_create' });
    const lock = holdWriteLock(path, 200);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    let results: (number | null)[];
    try {
      results = await Promise.all([5, 5, 2].map((cost) => store.spendCredits('acme', cost, null)));
    } finally {
      clearInterval(timer);
      lock.release();
    }
    expect(ticks).toBeGreaterThanOrEqual(5);
    // 7 credits: the first five-credit spend and the two-credit one, whichever order the thread took them.
    expect(results.filter((r) => r === null)).toHaveLength(1);
    expect((await store.getOwner('acme'))?.credits).toBe(0);
    await store.close();
  });

  it('reports a use it could not take (database locked) as the store being unavailable', async () => {
    const { path, store, row } = await storeWithKey({ busyTimeoutMs: 50 }, { remainingUses: 1 });
    const lock = holdWriteLock(path);
    const error = await store.consumeUse(row.id, new Date()).catch((e) => e);
    lock.release();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toContain('locked');
    expect(await store.consumeUse(row.id, new Date())).toBe(0);
    await store.close();
  });

  it('gives exactly as many uses as a key has when two stores take them while the lock is held', async () => {
    const { path, store, row } = await storeWithKey({}, { remainingUses: 15 });
    const other = await SqliteKeyStore.open(path);
    // Every attempt finds the lock held and goes to its store's writer thread; the two
    // threads then race for the lock once it is released.
    const lock = holdWriteLock(path, 100);
    const at = new Date(9000);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? store : other).consumeUse(row.id, at)),
    );
    lock.release();
    expect(results.filter((left) => left !== null)).toHaveLength(15);
    expect(new Set(results.filter((left) => left !== null))).toEqual(
      new Set(Array.from({ length: 15 }, (_, i) => i)),
    );
    expect(await store.get(row.id)).toMatchObject({ remainingUses: 0, useCount: 15 });
    await other.close();
    await store.close();
  });

  it('lets a use waiting for the lock finish when the store closes, and refuses uses once closed', async () => {
    const { path, store, row } = await storeWithKey({}, { remainingUses: 3 });
    const lock = holdWriteLock(path, 150);
    const taken = store.consumeUse(row.id, new Date(1000));
    await store.close();
    lock.release();
    expect(await taken).toBe(2);
    await expect(store.consumeUse(row.id, new Date())).rejects.toThrow(StoreUnavailableError);
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT remaining_uses FROM keyward_keys WHERE id = ?').pluck().get(row.id)).toBe(2);
    raw.close();
  });

  it('takes uses on its own connection when the database is in memory, and refuses them once closed', async () => {
    const store = await SqliteKeyStore.open(':memory:');
    const row = makeRow({ remainingUses: 1 });
    await store.insert(row, ctx);
    expect(await store.consumeUse(row.id, new Date())).toBe(0);
    expect(await store.consumeUse(row.id, new Date())).toBeNull();
    await store.close();
    await expect(store.consumeUse(row.id, new Date())).rejects.toThrow(StoreUnavailableError);
  });
});

describe('SqliteKeyStore usage batches (written from a worker thread)', () => {
  it('writes a batch off the event loop: requests keep being served while it is written', async () => {
    const { store, row } = await storeWithKey();
    const order: string[] = [];
    // The first batch also starts the worker: its reply cannot come within one turn.
    const written = store.recordUsage([{ id: row.id, count: 3, lastUsedAt: new Date(1234) }]).then(() => {
      order.push('written');
    });
    setImmediate(() => order.push('turn'));
    await written;
    expect(order).toEqual(['turn', 'written']);
    expect(await store.get(row.id)).toMatchObject({ useCount: 3, lastUsedAt: new Date(1234) });
    await store.close();
  });

  it('writes batches on its own connection when the database is in memory (no file for a worker)', async () => {
    const store = await SqliteKeyStore.open(':memory:');
    const row = makeRow();
    await store.insert(row, ctx);
    await store.recordUsage([{ id: row.id, count: 2, lastUsedAt: new Date(2000) }]);
    await store.recordUsage([{ id: row.id, count: 1, lastUsedAt: new Date(1000) }]);
    expect(await store.get(row.id)).toMatchObject({ useCount: 3, lastUsedAt: new Date(2000) });
    await store.close();
  });

  it('commits the batches in flight before closing', async () => {
    const { path, store, row } = await storeWithKey();
    const writes = [1, 2, 3].map((count) =>
      store.recordUsage([{ id: row.id, count, lastUsedAt: new Date(count * 1000) }]),
    );
    await store.close();
    await Promise.all(writes);
    await expect(store.recordUsage([{ id: row.id, count: 1, lastUsedAt: new Date() }])).rejects.toThrow(
      StoreUnavailableError,
    );
    const again = await SqliteKeyStore.open(path);
    expect(await again.get(row.id)).toMatchObject({ useCount: 6, lastUsedAt: new Date(3000) });
    await again.close();
  });

  it('reports a batch it could not write (database locked) as the store being unavailable, then writes the next', async () => {
    const { path, store, row } = await storeWithKey({ busyTimeoutMs: 50 });
    const lock = holdWriteLock(path);
    const error = await store.recordUsage([{ id: row.id, count: 1, lastUsedAt: new Date() }]).catch((e) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toContain('locked');
    lock.release();
    await store.recordUsage([{ id: row.id, count: 2, lastUsedAt: new Date() }]);
    expect((await store.get(row.id))?.useCount).toBe(2);
    await store.close();
  });

  it('answers every close() once the writes in flight are committed', async () => {
    const { path, store, row } = await storeWithKey();
    // The batch waits for the lock; both close() calls must wait for the batch.
    const lock = holdWriteLock(path, 300);
    const written = store.recordUsage([{ id: row.id, count: 4, lastUsedAt: new Date(4000) }]);
    void store.close();
    await store.close();
    lock.release();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT use_count FROM keyward_keys WHERE id = ?').pluck().get(row.id)).toBe(4);
    raw.close();
    await written;
  });

  it('does not keep a process alive that never closes its store', () => {
    const index = fileURLToPath(new URL('../../packages/sqlite/src/index.ts', import.meta.url));
    const code = `
      const { SqliteKeyStore } = await import(${JSON.stringify(index)});
      const store = await SqliteKeyStore.open(${JSON.stringify(dbPath())});
      await store.recordUsage([{ id: 'key_none', count: 1, lastUsedAt: new Date() }]);
      console.log('recorded');`;
    const child = spawnSync(process.execPath, [...SOURCE_FLAGS, '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).not.toMatch(/error|unhandled/i);
    expect(child.stdout.trim()).toBe('recorded');
    // A worker left referenced would keep it running until the timeout killed it.
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
  });
});

describe('KeyManager.importKeys on SQLite (batches written by the worker while the next is prepared)', () => {
  const PEPPER = 'import-test-pepper-0123456789abcdefghijklmn';
  it('imports every key in order, and rejects a bad item only once the batches before it are committed', async () => {
    const path = dbPath();
    const manager = await KeyManager.open({ store: await SqliteKeyStore.open(path), pepper: PEPPER });
    const keys = Array.from({ length: 7 }, (_, i) => `legacy-import-key-${i}-0123456789`);
    const progress: number[] = [];
    const result = await manager.importKeys(
      keys.map((key) => ({ key })),
      { batchSize: 2, onProgress: (p) => progress.push(p.processed) },
    );
    expect(result).toEqual({ imported: 7, duplicates: 0 });
    expect(progress).toEqual([2, 4, 6, 7]);
    const audited = (await manager.audit({ limit: 100 })).filter((e) => e.action === 'import').reverse();
    const ids = await Promise.all(keys.map(async (k) => (await manager.check(k, { dryRun: true })).keyId));
    expect(audited.map((e) => e.keyId)).toEqual(ids);

    const more = [
      'legacy-import-key-a-0123456789',
      'legacy-import-key-b-0123456789',
      'legacy-import-key-c-0123456789',
    ];
    // The batch before the bad item waits for the lock, and the rejection must wait for that batch.
    const lock = holdWriteLock(path, 300);
    const error = await manager
      .importKeys([...more.map((key) => ({ key })), { key: 'bad,key-with-a-comma-0123' }], { batchSize: 2 })
      .catch((e) => e);
    lock.release();
    expect(error).toBeInstanceOf(KeyInputError);
    // The first batch (a, b) was committed before the rejection; c was never written.
    expect((await manager.check(more[0]!, { dryRun: true })).outcome).toBe('valid');
    expect((await manager.check(more[1]!, { dryRun: true })).outcome).toBe('valid');
    expect((await manager.check(more[2]!, { dryRun: true })).outcome).toBe('not_found');
    await manager.close();
  });

  it('reports a failed batch rather than a bad item read while it was being written', async () => {
    const path = dbPath();
    const manager = await KeyManager.open({
      store: await SqliteKeyStore.open(path, { busyTimeoutMs: 50 }),
      pepper: PEPPER,
    });
    const lock = holdWriteLock(path);
    const items = [
      'legacy-locked-key-a-0123456',
      'legacy-locked-key-b-0123456',
      'legacy-locked-key-c-0123456',
    ];
    const error = await manager
      .importKeys([...items.map((key) => ({ key })), { key: 'bad,key-with-a-comma-0123' }], { batchSize: 2 })
      .catch((e) => e);
    lock.release();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toContain('locked');
    await manager.close();
  });
});
