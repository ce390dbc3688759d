import {
  KeyInputError,
  KeyManager,
  type KeyManagerOptions,
  KeyNotFoundError,
  KeyStateError,
  MemoryKeyStore,
  PepperMismatchError,
} from '@keyward/keys';
import type { NewKeyRow } from '@keyward/keys/store';
import { KeywardConfigError } from 'keyward';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryManager } from './fixtures.js';
import { OTHER_PEPPER, PEPPER } from './temp.js';

const HOUR = 3_600_000;
let open: KeyManager[] = [];
async function setup(...args: Parameters<typeof memoryManager>) {
  const s = await memoryManager(...args);
  open.push(s.manager);
  return s;
}
afterEach(async () => {
  await Promise.all(open.map((m) => m.close()));
  open = [];
});

describe('KeyManager lifecycle', () => {
  it('creates keys with validated settings', async () => {
    const { manager, clock } = await setup();
    await manager.createOwner({ name: 'acme' });
    const { record } = await manager.create({
      name: ' billing ',
      owner: 'acme',
      scopes: 'read,admin',
      metadata: { plan: 'pro' },
      expiresIn: '30d',
      uses: 10,
      rateLimit: '100/1m',
    });
    expect(record).toMatchObject({
      name: 'billing',
      owner: 'acme',
      scopes: ['read', 'admin'],
      metadata: { plan: 'pro' },
      expiresAt: new Date(clock.now() + 30 * 24 * HOUR),
      remainingUses: 10,
      rateLimit: { limit: 100, windowSeconds: 60 },
      enabled: true,
      revokedAt: null,
      useCount: 0,
    });
    expect(record.id).toMatch(/^key_[0-9A-Za-z]{18}$/);
    expect(record.display).toMatch(/^kw_[0-9A-Za-z]{4}…$/);
  });

  it('refuses bad settings with KeyInputError and unknown ids with KeyNotFoundError', async () => {
    const { manager } = await setup();
    const bad = [
      { name: '' },
      { name: 'x', scopes: ['has space'] },
      { name: 'x', uses: -1 },
      { name: 'x', expiresIn: '3w' },
      { name: 'x', expiresIn: '0' },
      { name: 'x', rateLimit: '0/1m' },
      { name: 'x', metadata: [] as unknown as Record<string, unknown> },
      { name: 'x', expiresIn: '1d', expiresAt: new Date() },
    ];
    for (const settings of bad) await expect(manager.create(settings)).rejects.toBeInstanceOf(KeyInputError);
    await expect(manager.get('nope')).rejects.toBeInstanceOf(KeyNotFoundError);
    await expect(manager.revoke('key_000000000000000000')).rejects.toBeInstanceOf(KeyNotFoundError);
    await expect(manager.update('key_000000000000000000', { name: 'y' })).rejects.toBeInstanceOf(
      KeyNotFoundError,
    );
  });

  it('never repeats a key given where an id belongs, in the error or its id', async () => {
    const { manager } = await setup();
    const { key, record } = await manager.create({ name: 'a' });
    for (const call of [
      () => manager.get(key),
      () => manager.revoke(key),
      () => manager.update(key, { name: 'b' }),
      () => manager.delete(key),
      () => manager.rotate(key),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyNotFoundError);
      expect(error).toMatchObject({
        id: null,
        message: expect.stringMatching(/^that looks like a key, not a key id/),
      });
      expect(JSON.stringify({ ...(error as object), message: (error as Error).message })).not.toContain(
        key.slice(3),
      );
    }
    const unknown = await manager.get('key_000000000000000000').catch((e: unknown) => e);
    expect(unknown).toMatchObject({
      id: 'key_000000000000000000',
      message: 'no key with id "key_000000000000000000"',
    });
    // Nor is a key stored where every listing would print it.
    for (const settings of [
      { name: key },
      { name: 'x', owner: `was ${key}` },
      { name: 'x', scopes: [key] },
    ]) {
      const error = await (async () => manager.update(record.id, settings))().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyInputError);
      expect((error as Error).message).not.toContain(key.slice(3));
    }
  });

  it('updates expiry both ways and lists by owner', async () => {
    const { manager, clock } = await setup();
    await manager.createOwner({ name: 'acme' });
    await manager.createOwner({ name: 'other' });
    const a = await manager.create({ name: 'a', owner: 'acme' });
    await manager.create({ name: 'b', owner: 'other' });
    const updated = await manager.update(a.record.id, { expiresIn: '1h' });
    expect(updated.expiresAt).toEqual(new Date(clock.now() + HOUR));
    expect((await manager.update(a.record.id, { expiresAt: null })).expiresAt).toBeNull();
    const page = await manager.list({ owner: 'acme' });
    expect(page.items.map((r) => r.name)).toEqual(['a']);
  });

  it('rotates: the successor inherits the settings, the old key works through the grace period', async () => {
    const { manager, clock } = await setup();
    await manager.createOwner({ name: 'acme' });
    const old = await manager.create({
      name: 'svc',
      owner: 'acme',
      scopes: ['read'],
      metadata: { team: 'x' },
      expiresIn: '30d',
      rateLimit: '10/1s',
    });
    clock.advance(24 * HOUR);
    const rotated = await manager.rotate(old.record.id);
    expect(rotated.key).not.toBe(old.key);
    expect(rotated.record).toMatchObject({
      name: 'svc',
      owner: 'acme',
      scopes: ['read'],
      metadata: { team: 'x' },
      remainingUses: null,
      rateLimit: { limit: 10, windowSeconds: 1 },
      replaces: old.record.id,
      expiresAt: new Date(clock.now() + 30 * 24 * HOUR),
    });
    expect(rotated.previous).toMatchObject({
      replacedBy: rotated.record.id,
      expiresAt: new Date(clock.now() + 24 * HOUR),
    });
    expect((await manager.check(old.key)).outcome).toBe('valid');
    expect((await manager.check(rotated.key)).outcome).toBe('valid');
    clock.advance(24 * HOUR - 1);
    expect((await manager.check(old.key)).outcome).toBe('valid');
    clock.advance(1);
    expect((await manager.check(old.key)).outcome).toBe('expired');
    expect((await manager.check(rotated.key)).outcome).toBe('valid');
  });

  it('moves the uses left to the successor: N uses serve N requests across both keys', async () => {
    const { manager, store } = await setup();
    const old = await manager.create({ name: 'svc', uses: 4 });
    expect((await manager.check(old.key)).outcome).toBe('valid');
    // A request lands between the rotation reading the key and its transaction.
    const rotate = store.rotate.bind(store);
    store.rotate = async (...args) => {
      expect((await manager.check(old.key)).outcome).toBe('valid');
      return rotate(...args);
    };
    const rotated = await manager.rotate(old.record.id, { grace: '1h' });
    expect(rotated.record.remainingUses).toBe(2);
    expect(rotated.previous.remainingUses).toBe(0);
    let served = 0;
    for (const key of [old.key, rotated.key]) {
      for (let i = 0; i < 5; i++) if ((await manager.check(key)).outcome === 'valid') served++;
    }
    expect(served).toBe(2);
    expect((await manager.check(old.key)).outcome).toBe('usage_exceeded');
  });

  it('never extends the old key beyond its own expiry when rotating', async () => {
    const { manager } = await setup();
    const old = await manager.create({ name: 'svc', expiresIn: '1h' });
    const { previous } = await manager.rotate(old.record.id, { grace: '24h' });
    expect(previous.expiresAt).toEqual(old.record.expiresAt);
  });

  it('rotates with grace 0 by revoking the old key at once, and refuses to rotate twice', async () => {
    const { manager } = await setup();
    const old = await manager.create({ name: 'svc' });
    await manager.check(old.key);
    const { key, previous } = await manager.rotate(old.record.id, { grace: 0 });
    expect(previous.revokedAt).not.toBeNull();
    expect((await manager.check(old.key)).outcome).toBe('revoked');
    expect((await manager.check(key)).outcome).toBe('valid');
    await expect(manager.rotate(old.record.id)).rejects.toBeInstanceOf(KeyStateError);
    const revoked = await manager.create({ name: 'r' });
    await manager.revoke(revoked.record.id);
    await expect(manager.rotate(revoked.record.id)).rejects.toBeInstanceOf(KeyStateError);
    await expect(manager.rotate(revoked.record.id, { grace: '1x' })).rejects.toBeInstanceOf(KeyInputError);
  });

  it('audits every administrative change with actor and key id, never a key', async () => {
    const { manager } = await setup({ actor: 'tester' });
    const a = await manager.create({ name: 'a' });
    await manager.update(a.record.id, { name: 'b' }, { actor: 'alice' });
    await manager.disable(a.record.id);
    await manager.enable(a.record.id);
    const r = await manager.rotate(a.record.id);
    await manager.revoke(r.record.id);
    await manager.revoke(r.record.id); // no change, no entry
    await manager.delete(a.record.id);
    await manager.importKeys([{ key: 'legacy-key-0123456789abcdef' }]);
    const entries = await manager.audit();
    expect(entries.map((e) => [e.action, e.actor])).toEqual([
      ['import', 'tester'],
      ['delete', 'tester'],
      ['revoke', 'tester'],
      ['create', 'tester'],
      ['rotate', 'tester'],
      ['enable', 'tester'],
      ['disable', 'tester'],
      ['update', 'alice'],
      ['create', 'tester'],
    ]);
    expect(entries[7]!.changes).toEqual({ name: { from: 'a', to: 'b' } });
    const text = JSON.stringify(entries);
    for (const secret of [a.key, r.key, 'legacy-key-0123456789abcdef']) expect(text).not.toContain(secret);
    expect((await manager.audit({ keyId: r.record.id })).map((e) => e.action)).toEqual(['revoke', 'create']);
  });

  it('imports bare keys that share a millisecond as independent keys, from sync and async sources', async () => {
    const { manager } = await setup();
    const keys = [
      'bare-legacy-key-one-0123456',
      'bare-legacy-key-two-0123456',
      'bare-legacy-key-three-012345',
    ];
    await manager.importKeys([
      { key: keys[0]! },
      { key: 'named-legacy-key-0123456', scopes: ['read'] },
      { key: keys[1]! },
    ]);
    async function* later() {
      yield { key: keys[2]! };
    }
    expect(await manager.importKeys(later())).toEqual({ imported: 1, duplicates: 0 });
    const [one, two, three] = await Promise.all(keys.map(async (k) => (await manager.check(k)).principal!));
    expect(new Set([one!.id, two!.id, three!.id]).size).toBe(3);
    expect((await manager.check('named-legacy-key-0123456')).principal?.scopes).toEqual(['read']);
    await manager.update(one!.id, { name: 'renamed', scopes: ['admin'], metadata: { plan: 'pro' } });
    for (const id of [two!.id, three!.id]) {
      expect(await manager.get(id)).toMatchObject({ name: 'imported', scopes: [], metadata: {} });
    }
    expect(await manager.get(one!.id)).toMatchObject({ name: 'renamed', scopes: ['admin'] });
  });

  it('refuses NUL and unpaired surrogates in metadata and names, which not every store can keep', async () => {
    const { manager } = await setup();
    for (const metadata of [
      { a: 'x\u0000y' },
      { deep: [{ b: '\ud800' }] },
      { ['k\u0000']: 1 },
      { ['\udfff']: 1 },
    ]) {
      await expect(manager.create({ name: 'm', metadata })).rejects.toThrow(
        'metadata must not contain NUL characters or unpaired surrogates',
      );
    }
    await expect(manager.create({ name: 'bad \ud800' })).rejects.toThrow(
      'name must not contain unpaired surrogates',
    );
    await expect(
      manager.importKeys([{ key: 'legacy-key-surrogate-012345', owner: '\udc00x' }]),
    ).rejects.toThrow(
      'owner must be 1-200 characters without control or bidirectional formatting characters or unpaired surrogates, or null',
    );
    const ok = await manager.create({
      name: 'emoji 😀',
      metadata: { text: 'pair 😀, escaped \\u0000 as text' },
    });
    expect(ok.record.metadata).toEqual({ text: 'pair 😀, escaped \\u0000 as text' });
    expect((await manager.list()).items).toHaveLength(1);
  });

  it('hands stores rows whose shared parts are frozen, and reads a source that is also async asynchronously', async () => {
    const store = new MemoryKeyStore();
    const seen: NewKeyRow[] = [];
    const insertMany = store.insertMany.bind(store);
    store.insertMany = (rows, context) => {
      seen.push(...rows);
      return insertMany(rows, context);
    };
    const { manager } = await setup({ store });
    await manager.importKeys([{ key: 'shared-legacy-key-a-0123' }, { key: 'shared-legacy-key-b-0123' }]);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.scopes).toBe(seen[1]!.scopes);
    for (const row of seen) expect(Object.isFrozen(row.scopes) && Object.isFrozen(row.metadata)).toBe(true);
    const both = {
      *[Symbol.iterator]() {
        yield { key: 'short' };
      },
      async *[Symbol.asyncIterator]() {
        yield { key: 'async-legacy-key-0123456' };
      },
    };
    expect(await manager.importKeys(both)).toEqual({ imported: 1, duplicates: 0 });
  });

  it('refuses an actor with control characters, per call and at open', async () => {
    const { manager } = await setup();
    await expect(manager.create({ name: 'a' }, { actor: 'bob\u0000' })).rejects.toThrow(KeyInputError);
    await expect(manager.create({ name: 'a' }, { actor: 'x\ud800' })).rejects.toThrow(KeyInputError);
    expect((await manager.list()).items).toEqual([]);
    await expect(KeyManager.open({ store: new MemoryKeyStore(), actor: 'line\nbreak' })).rejects.toThrow(
      KeywardConfigError,
    );
    const ok = await manager.create({ name: 'a' }, { actor: 'ops:alice' });
    expect((await manager.audit({ keyId: ok.record.id }))[0]!.actor).toBe('ops:alice');
  });

  it('imports legacy keys hashed, skips duplicates, and refuses keys that could never verify', async () => {
    const { manager } = await setup();
    const progress: number[] = [];
    const result = await manager.importKeys(
      [
        { key: 'legacy-key-0123456789abcdef', name: 'one', owner: 'acme', scopes: ['read'] },
        { key: 'legacy-key-0123456789abcdef' },
        { key: 'another-legacy-key-0123456789' },
      ],
      { batchSize: 2, onProgress: (p) => progress.push(p.processed) },
    );
    expect(result).toEqual({ imported: 2, duplicates: 1 });
    expect(progress).toEqual([2, 3]);
    const check = await manager.check('legacy-key-0123456789abcdef');
    expect(check.principal).toMatchObject({ name: 'one', owner: 'acme', scopes: ['read'] });
    expect((await manager.check('another-legacy-key-0123456789')).principal?.name).toBe('imported');
    const badPrefixed = 'kw_this-looks-like-ours-but-is-not';
    const error = await manager.importKeys([{ key: badPrefixed }]).catch((e) => e);
    expect(error).toBeInstanceOf(KeyInputError);
    expect(error.message).not.toContain(badPrefixed);
    await expect(manager.importKeys([{ key: 'short' }])).rejects.toBeInstanceOf(KeyInputError);
    await expect(manager.importKeys([{ key: 'has,comma-0123456789' }])).rejects.toBeInstanceOf(KeyInputError);
  });

  it('fails at open with PepperMismatchError when the store was created with another pepper', async () => {
    const store = new MemoryKeyStore();
    const first = await KeyManager.open({ store, pepper: PEPPER, pollIntervalMs: 0 });
    await first.create({ name: 'x' });
    const error = await KeyManager.open({ store, pepper: OTHER_PEPPER, pollIntervalMs: 0 }).catch((e) => e);
    expect(error).toBeInstanceOf(PepperMismatchError);
    expect(error.message).not.toContain(OTHER_PEPPER);
    await first.close();
  });

  it('refuses a cache TTL of 0 (lru-cache would keep entries forever) and timers past 1 hour', async () => {
    const open = (o: Partial<KeyManagerOptions>) =>
      KeyManager.open({
        store: new MemoryKeyStore(),
        pepper: PEPPER,
        pollIntervalMs: 0,
        flushIntervalMs: 0,
        ...o,
      });
    const refused = [
      { cache: { ttlMs: 0 } },
      { cache: { negativeTtlMs: 0 } },
      { cache: { ttlMs: HOUR + 1 } },
      { cache: { max: 0 } },
      { cache: { ttlMs: 1.5 } },
      // 30 days overflows setInterval's 32-bit delay: it would fire every millisecond.
      { flushIntervalMs: 30 * 24 * HOUR },
      { pollIntervalMs: 2 ** 31 },
      { pollIntervalMs: -1 },
    ];
    for (const options of refused) {
      const error = await open(options).catch((e) => e);
      expect({ options, error }).toEqual({ options, error: expect.any(KeywardConfigError) });
    }
    const ok = await open({
      cache: { ttlMs: HOUR, negativeTtlMs: 1 },
      flushIntervalMs: HOUR,
      pollIntervalMs: HOUR,
    });
    await ok.close();
  });

  it('needs a pepper for a persistent store', async () => {
    const fake = Object.create(null) as never;
    await expect(KeyManager.open({ store: fake })).rejects.toThrow(/needs a pepper/);
  });
});
