// Two managers on one SQLite database: what one process changes, the other follows.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  InsecurePepperFileError,
  KeyManager,
  type KeyManagerOptions,
  PepperMismatchError,
} from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { SqliteKeyStore } from '@keyward/sqlite';
import { KeywardConfigError } from 'keyward';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { counting } from './fixtures.js';
import { OTHER_PEPPER, PEPPER, tempDir } from './temp.js';

const dir = tempDir();
let n = 0;
let open: KeyManager[] = [];
afterEach(async () => {
  await Promise.all(open.map((m) => m.close()));
  open = [];
});

async function pair(a: Partial<KeyManagerOptions> = {}) {
  const path = join(dir, `shared-${++n}.db`);
  const counted = counting(await SqliteKeyStore.open(path));
  const server = await KeyManager.open({ store: counted.store, pepper: PEPPER, pollIntervalMs: 0, ...a });
  const admin = await KeyManager.open({
    store: await SqliteKeyStore.open(path),
    pepper: PEPPER,
    pollIntervalMs: 0,
  });
  open.push(server, admin);
  return { server, admin, calls: counted.calls, path };
}

describe('change feed across processes sharing a database', () => {
  it('drops a cached key another process revoked', async () => {
    const { server, admin } = await pair();
    const { key, record } = await admin.create({ name: 'x' });
    expect((await server.check(key)).outcome).toBe('valid');
    await admin.revoke(record.id);
    expect((await server.check(key)).outcome).toBe('valid'); // cached until the feed says otherwise
    await server.sync();
    expect((await server.check(key)).outcome).toBe('revoked');
  });

  it('follows the feed by itself within a second at the default poll interval', async () => {
    const { server, admin } = await pair({ pollIntervalMs: undefined, cache: { ttlMs: 3_600_000 } });
    const { key, record } = await admin.create({ name: 'x' });
    expect((await server.check(key)).outcome).toBe('valid');
    await admin.disable(record.id);
    await vi.waitFor(async () => expect((await server.check(key)).outcome).toBe('disabled'), {
      timeout: 1000,
      interval: 25,
    });
  });

  it('forgets that a key was unknown once another process adds it', async () => {
    const { server, admin } = await pair();
    const legacy = 'legacy-key-0123456789abcdef';
    expect((await server.check(legacy)).outcome).toBe('not_found');
    await admin.importKeys([{ key: legacy }]);
    await server.sync();
    expect((await server.check(legacy)).outcome).toBe('valid');
  });

  it('drops every cached answer when too many changes arrive at once', async () => {
    const { server, admin, calls } = await pair();
    const { key } = await admin.create({ name: 'cached' });
    await server.check(key);
    const lookups = calls['findByHash'];
    const legacy = Array.from({ length: 1200 }, (_, i) => ({
      key: `legacy-key-${String(i).padStart(8, '0')}`,
    }));
    expect((await server.check(legacy[1100]!.key)).outcome).toBe('not_found');
    await admin.importKeys(legacy);
    await server.sync();
    expect((await server.check(legacy[1100]!.key)).outcome).toBe('valid');
    expect((await server.check(key)).outcome).toBe('valid');
    expect(calls['findByHash']).toBe(lookups! + 3);
  });

  it('keeps cached answers while the feed fails, then catches up from where it stopped', async () => {
    const errors: unknown[] = [];
    const { server, admin, calls } = await pair({ onError: (e) => errors.push(e) });
    const { key, record } = await admin.create({ name: 'x' });
    await server.check(key);
    const lookups = calls['findByHash']!;
    const spy = vi.spyOn(server.store, 'changesSince').mockRejectedValue(new Error('unreachable'));
    await admin.revoke(record.id);
    await server.sync();
    await server.sync();
    // Served from the cache (bounded by its TTL) while the store cannot be asked.
    expect((await server.check(key)).outcome).toBe('valid');
    expect(calls['findByHash']).toBe(lookups);
    expect(errors).toHaveLength(1);
    spy.mockRestore();
    await server.sync();
    expect((await server.check(key)).outcome).toBe('revoked');
  });

  it('polls again when asked during a poll, so an announcement mid-poll is not lost', async () => {
    const { server, admin } = await pair();
    const { key, record } = await admin.create({ name: 'x' });
    await server.check(key);
    let release: () => void = () => {};
    const original = server.store.changesSince.bind(server.store);
    const spy = vi.spyOn(server.store, 'changesSince').mockImplementationOnce(async (seq, limit) => {
      const batch = await original(seq, limit);
      await new Promise<void>((r) => {
        release = r;
      });
      return batch;
    });
    const first = server.sync();
    await vi.waitFor(() => expect(spy).toHaveBeenCalled());
    await admin.revoke(record.id); // committed after the running poll read the log
    const second = server.sync();
    release();
    await first;
    expect((await server.check(key)).outcome).toBe('valid');
    await second;
    expect((await server.check(key)).outcome).toBe('revoked');
    spy.mockRestore();
  });

  it('shares remaining uses exactly across processes', async () => {
    const { server, admin } = await pair();
    const { key } = await admin.create({ name: 'n', uses: 10 });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? server : admin).check(key).then((c) => c.outcome)),
    );
    expect(results.filter((o) => o === 'valid')).toHaveLength(10);
    expect(results.filter((o) => o === 'usage_exceeded')).toHaveLength(20);
  });
});

describe('openKeyManager', () => {
  it('refuses a wrong pepper at once, naming where the pepper came from', async () => {
    const database = join(dir, 'pepper.db');
    const first = await openKeyManager({ database, env: { KEYWARD_PEPPER: PEPPER }, pollIntervalMs: 0 });
    await first.create({ name: 'x' });
    await first.close();
    const error = await openKeyManager({ database, env: { KEYWARD_PEPPER: OTHER_PEPPER } }).catch((e) => e);
    expect(error).toBeInstanceOf(PepperMismatchError);
    expect(error.message).toMatch(/KEYWARD_PEPPER/);
    // Without KEYWARD_PEPPER the pepper file is missing: it is reported, and no new one
    // (which could never be the database's) is left beside it.
    const notes: string[] = [];
    const fromFile = await openKeyManager({ database, env: {}, notice: (m) => notes.push(m) }).catch(
      (e) => e,
    );
    expect(fromFile).toBeInstanceOf(PepperMismatchError);
    expect(fromFile.message).toContain(`its pepper file ${database}.pepper is missing`);
    expect(notes).toEqual([]);
    expect(existsSync(`${database}.pepper`)).toBe(false);
  });

  it('checks the pepper before creating the database, so a refused start leaves none behind', async () => {
    // An empty database left behind made the next good start find a store and issue no first key.
    const database = join(dir, 'refused-first.db');
    const weak = await openKeyManager({ database, env: { KEYWARD_PEPPER: 'a'.repeat(32) } }).catch((e) => e);
    expect(weak).toBeInstanceOf(KeywardConfigError);
    expect(weak.message).toMatch(/too weak/);
    expect(existsSync(database)).toBe(false);
    // A pepper file others may read, or a weak one: refused before the database too.
    for (const [content, mode] of [
      [`${PEPPER}\n`, 0o644],
      ['b'.repeat(40), 0o600],
    ] as const) {
      writeFileSync(`${database}.pepper`, content, { mode });
      const error = await openKeyManager({ database, env: {} }).catch((e) => e);
      expect(error).toBeInstanceOf(mode === 0o644 ? InsecurePepperFileError : KeywardConfigError);
      expect(existsSync(database)).toBe(false);
      rmSync(`${database}.pepper`);
    }
    const good = await openKeyManager({ database, env: { KEYWARD_PEPPER: PEPPER }, pollIntervalMs: 0 });
    expect(good.store.created).toBe(true);
    await good.close();
  });

  it('reports a directory where the pepper file should be', async () => {
    const database = join(dir, 'pepper-dir.db');
    mkdirSync(`${database}.pepper`);
    const error = await openKeyManager({ database, env: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(InsecurePepperFileError);
    expect(error.message).toBe(`refusing pepper file ${database}.pepper: it is not a regular file`);
  });

  it('reads sqlite: and file: URLs and KEYWARD_DATABASE_URL', async () => {
    const path = join(dir, 'url.db');
    for (const database of [`sqlite:${path}`, `file:${path}`, `sqlite://${path}`]) {
      const m = await openKeyManager({ database, env: { KEYWARD_PEPPER: PEPPER }, pollIntervalMs: 0 });
      expect(m.store.location).toBe(path);
      await m.close();
    }
    const m = await openKeyManager({ env: { KEYWARD_PEPPER: PEPPER, KEYWARD_DATABASE_URL: path } });
    expect(m.store.location).toBe(path);
    await m.close();
    await expect(openKeyManager({ database: 'mysql://x/y', env: {} })).rejects.toThrow(/unsupported/);
  });
});
