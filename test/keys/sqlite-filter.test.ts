// The SQLite store's membership filter (src/keys/sqlite/filter.ts): made-up keys are
// refused without a query, and it never refuses a key any connection has committed.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KeyManager } from '@keyward/keys';
import { SqliteKeyStore } from '@keyward/sqlite';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRow, untilFilterAnswers } from '../../packages/keys/src/testing/contract.js';
import { tempDir } from './temp.js';

const dir = tempDir();
let n = 0;
const dbPath = () => join(dir, `filter-${++n}.db`);
const ctx = (action: 'create' | 'import') => ({ actor: 't', at: new Date(), action }) as const;
const randomTag = () => randomBytes(4).readInt32BE();
const PEPPER = 'filter-test-pepper-0123456789abcdefghijklmnop';

/** A key manager over its own connection to `path`, as a separate process would have. */
async function openManager(path: string): Promise<KeyManager> {
  return KeyManager.open({ store: await SqliteKeyStore.open(path), pepper: PEPPER, pollIntervalMs: 0 });
}

const open: { close(): Promise<void> }[] = [];
async function store(path: string): Promise<SqliteKeyStore> {
  const s = await SqliteKeyStore.open(path);
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

describe('SQLite membership filter', () => {
  it('says "maybe" for a key another connection committed, at once, without a feed', async () => {
    const path = dbPath();
    const reader = await store(path);
    const writer = await store(path);
    await writer.insertMany([makeRow(), makeRow()], ctx('import'));
    await untilFilterAnswers(reader);
    const created = makeRow();
    await writer.insert(created, ctx('create'));
    const imported = [makeRow(), makeRow(), makeRow()];
    await writer.insertMany(imported, ctx('import'));
    for (const row of [created, ...imported]) expect(reader.mayContain(row.tag!)).toBe(true);
    expect(await reader.findByHash(created.hash)).toMatchObject({ id: created.id });
  });

  it('sees a key a foreign connection committed (no keyward in between) from the next event-loop turn', async () => {
    const path = dbPath();
    const s = await store(path);
    await s.insert(makeRow(), ctx('create'));
    await untilFilterAnswers(s);
    const row = makeRow();
    const raw = new Database(path);
    try {
      raw.transaction(() => {
        raw
          .prepare(`INSERT INTO keyward_keys (hash, tag, id, display, name, scopes, metadata, created_at, enabled)
            VALUES (?, ?, ?, 'kw_x', 'raw', '[]', '{}', 0, 1)`)
          .run(row.hash, row.tag, row.id);
        raw
          .prepare(
            `INSERT INTO keyward_audit (at, actor, action, key_id, changes) VALUES (0, 'raw', 'create', ?, '{}')`,
          )
          .run(row.id);
      })();
    } finally {
      raw.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(s.mayContain(row.tag!)).toBe(true);
  });

  it('sees a rotation by another connection, and keys committed while it was loading', async () => {
    const path = dbPath();
    const s = await store(path);
    const other = await store(path);
    const old = makeRow();
    await other.insert(old, ctx('create'));
    await other.insertMany(
      Array.from({ length: 45_000 }, () => makeRow()),
      ctx('import'),
    );
    expect(s.mayContain(randomTag())).toBe(true); // starts the load: three chunks
    await new Promise((resolve) => setImmediate(resolve));
    const during = makeRow();
    await other.insert(during, ctx('create'));
    await untilFilterAnswers(s);
    expect(s.mayContain(during.tag!)).toBe(true);
    const successor = makeRow();
    await other.rotate(old.id, successor, {}, { actor: 't', at: new Date(), action: 'rotate' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(s.mayContain(successor.tag!)).toBe(true);
  });

  it('starts loading when KeyManager hands out a verifier, so the first made-up key is already refused', async () => {
    const path = dbPath();
    const m = await openManager(path);
    try {
      await m.create({ name: 'k' });
      m.verifier();
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      const absent = Array.from({ length: 20 }, randomTag);
      expect(absent.filter((tag) => m.store.mayContain!(tag) === false).length).toBeGreaterThan(15);
    } finally {
      await m.close();
    }
  });

  it('turns itself off for good on a key stored without a tag (by keyward 0.1)', async () => {
    const path = dbPath();
    const s = await store(path);
    await s.insert(makeRow(), ctx('create'));
    await untilFilterAnswers(s);
    const { tag: _tag, ...untagged } = makeRow();
    const other = await store(path);
    await other.insert(untagged, ctx('create'));
    const absent = Array.from({ length: 200 }, randomTag);
    expect(absent.every((tag) => s.mayContain(tag))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(absent.every((tag) => s.mayContain(tag))).toBe(true);
  });

  it('stays off for a database whose keys predate tags', async () => {
    const path = dbPath();
    const s = await store(path);
    await s.insert(makeRow(), ctx('create'));
    await s.close();
    const raw = new Database(path);
    raw.prepare('UPDATE keyward_keys SET tag = NULL').run();
    raw.close();
    const again = await store(path);
    await expect(untilFilterAnswers(again)).rejects.toThrow(/did not load/);
  });

  it('rebuilds in the background after a large import by another connection, answering "maybe" meanwhile', async () => {
    const path = dbPath();
    const reader = await store(path);
    const writer = await store(path);
    await writer.insert(makeRow(), ctx('create'));
    await untilFilterAnswers(reader);
    const rows = Array.from({ length: 6000 }, () => makeRow());
    await writer.insertMany(rows, ctx('import'));
    // More than one catch-up reads: the answer is "maybe" until the rebuild is done.
    for (const row of rows.slice(0, 50)) expect(reader.mayContain(row.tag!)).toBe(true);
    await untilFilterAnswers(reader);
    expect(rows.every((row) => reader.mayContain(row.tag!))).toBe(true);
  });

  it("knows a large import of its own store at once: its writer worker's commits are not read back", async () => {
    const s = await store(dbPath());
    await s.insert(makeRow(), ctx('create'));
    await untilFilterAnswers(s);
    // More than a catch-up reads (5,000): read back, they would force a rebuild ("maybe").
    const rows = Array.from({ length: 6000 }, () => makeRow());
    await s.insertMany(rows, ctx('import'));
    expect(rows.every((row) => s.mayContain(row.tag!))).toBe(true);
    const absent = Array.from({ length: 200 }, randomTag);
    expect(absent.filter((tag) => s.mayContain(tag)).length).toBeLessThan(20);
  });

  it('grows past the size it was loaded with, keeping every key', async () => {
    const s = await store(dbPath());
    await s.insert(makeRow(), ctx('create'));
    await untilFilterAnswers(s);
    const rows = Array.from({ length: 70_000 }, () => makeRow());
    for (let i = 0; i < rows.length; i += 10_000)
      await s.insertMany(rows.slice(i, i + 10_000), ctx('import'));
    expect(rows.every((row) => s.mayContain(row.tag!))).toBe(true);
    await untilFilterAnswers(s);
    expect(rows.every((row) => s.mayContain(row.tag!))).toBe(true);
  });

  it('lets KeyManager refuse made-up keys without a lookup, and accept a key another process just issued', async () => {
    const path = dbPath();
    const serving = await openManager(path);
    const admin = await openManager(path);
    try {
      await admin.create({ name: 'first' });
      let lookups = 0;
      const find = serving.store.findByHash.bind(serving.store);
      serving.store.findByHash = (hash) => {
        lookups++;
        return find(hash);
      };
      await untilFilterAnswers(serving.store);
      for (let i = 0; i < 1000; i++) {
        expect((await serving.check(serving.format.generate(), { dryRun: true })).outcome).toBe('not_found');
      }
      // About 0.3 % of made-up keys pass a filter of this size; 1,000 gives a handful at most.
      expect(lookups).toBeLessThan(20);
      const { key } = await admin.create({ name: 'fresh' });
      expect((await serving.check(key, { dryRun: true })).outcome).toBe('valid');
    } finally {
      await serving.close();
      await admin.close();
    }
  });
});
