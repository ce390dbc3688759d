// The executable specification of `KeyStore`: every store (memory, SQLite, PostgreSQL, and
// third-party stores through `@keyward/keys/testing`) runs this suite unchanged.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DuplicateKeyError,
  KeyInputError,
  KeyNotFoundError,
  KeyStateError,
  PepperMismatchError,
} from '../domain/errors.js';
import { newKeyId } from '../domain/ids.js';
import { newOwner, OwnerNotFoundError, ownerPatch, periodStart } from '../domain/owners.js';
import { creationChanges } from '../domain/records.js';
import type { AuditContext, KeyRecord, KeyStore, NewKeyRow } from '../store/types.js';
import { describeUsageContract } from './usage-contract.js';

export interface StoreUnderTest {
  store: KeyStore;
  /** Called after each test (close the store, drop the schema, remove files). */
  dispose?: () => Promise<void>;
}

let clock = Date.UTC(2030, 0, 1);
/** A new row with unique id and hash; ids increase with the fake clock. */
export function makeRow(overrides: Partial<NewKeyRow> = {}): NewKeyRow {
  clock += 1000;
  return {
    id: newKeyId(clock),
    hash: randomBytes(32),
    tag: randomBytes(4).readInt32BE(),
    display: 'kw_Test…',
    name: 'test key',
    owner: null,
    scopes: ['read'],
    metadata: {},
    createdAt: new Date(clock),
    expiresAt: null,
    revokedAt: null,
    enabled: true,
    lastUsedAt: null,
    useCount: 0,
    remainingUses: null,
    rateLimit: null,
    restrictions: null,
    replaces: null,
    replacedBy: null,
    ...overrides,
  };
}

const ctx = (action: AuditContext['action'], at = new Date(clock)): AuditContext => ({
  actor: 'contract',
  at,
  action,
});

function publicPart(row: NewKeyRow): KeyRecord {
  const { hash: _hash, tag: _tag, ...rest } = row;
  return rest;
}

/**
 * Waits (a few event-loop turns) until a store's membership filter is loaded: until one
 * of a handful of random tags is answered "absent". Fails after two seconds.
 */
export async function untilFilterAnswers(store: KeyStore): Promise<void> {
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    for (let i = 0; i < 8; i++) if (store.mayContain?.(randomBytes(4).readInt32BE()) === false) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the membership filter did not load within 2 s');
}

export function describeStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: KeyStore;
    beforeEach(async () => {
      subject = await make();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.dispose?.();
    });
    describeUsageContract(() => store);

    it('binds the pepper fingerprint once and refuses another one', async () => {
      await store.bindPepper('fingerprint-a');
      await store.bindPepper('fingerprint-a');
      const error = await store.bindPepper('fingerprint-b').catch((e) => e);
      expect(error).toBeInstanceOf(PepperMismatchError);
      expect(error.code).toBe('pepper_mismatch');
    });

    it('keeps settings with compare-and-set: of concurrent first writers exactly one wins (readMeta/swapMeta, optional)', async (t) => {
      const { readMeta, swapMeta } = store;
      if (!readMeta || !swapMeta) return t.skip();
      const read = (name: string) => readMeta.call(store, name);
      const swap = (name: string, expected: string | undefined, value: string) =>
        swapMeta.call(store, name, expected, value);
      expect(await read('contract_setting')).toBeUndefined();
      const first = await Promise.all(
        Array.from({ length: 8 }, (_, i) => swap('contract_setting', undefined, `v${i}`)),
      );
      expect(first.filter(Boolean)).toHaveLength(1);
      const winner = `v${first.indexOf(true)}`;
      expect(await read('contract_setting')).toBe(winner);
      expect(await swap('contract_setting', 'not-it', 'x')).toBe(false);
      const next = await Promise.all(
        Array.from({ length: 8 }, (_, i) => swap('contract_setting', winner, `w${i}`)),
      );
      expect(next.filter(Boolean)).toHaveLength(1);
      expect(await read('contract_setting')).toBe(`w${next.indexOf(true)}`);
      expect(await read('other_setting')).toBeUndefined();
    });

    it('round-trips every field of a record and never returns the hash', async () => {
      const row = makeRow({
        owner: 'acme',
        scopes: ['read', 'admin'],
        metadata: { plan: 'pro', nested: { n: 1 } },
        expiresAt: new Date(clock + 86_400_000),
        revokedAt: new Date(clock + 1),
        enabled: false,
        lastUsedAt: new Date(clock + 2),
        useCount: 3,
        remainingUses: 7,
        rateLimit: { limit: 100, windowSeconds: 60 },
        restrictions: {
          ipAllow: ['10.0.0.0/8', '2001:db8::/32'],
          originAllow: ['https://app.example.com'],
          routes: ['GET /reports/*', 'list_jobs'],
        },
        replaces: newKeyId(clock - 5000),
        replacedBy: newKeyId(clock + 5000),
      });
      await store.insert(row, ctx('create'));
      const got = await store.get(row.id);
      expect(got).toEqual(publicPart(row));
      expect(got).not.toHaveProperty('hash');
      expect(await store.findByHash(row.hash)).toEqual(publicPart(row));
      expect(await store.get(newKeyId())).toBeUndefined();
      expect(await store.findByHash(randomBytes(32))).toBeUndefined();
    });

    it('hands out copies: changing a returned record changes nothing stored', async () => {
      const row = makeRow({ scopes: ['read'] });
      await store.insert(row, ctx('create'));
      const got = (await store.get(row.id)) as unknown as { scopes: string[] };
      got.scopes.push('admin');
      expect((await store.get(row.id))!.scopes).toEqual(['read']);
    });

    it('rejects a second key with the same hash, and audits nothing for it', async () => {
      const row = makeRow();
      await store.insert(row, ctx('create'));
      const error = await store.insert(makeRow({ hash: row.hash }), ctx('create')).catch((e) => e);
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(await store.audit({})).toHaveLength(1);
    });

    it('lists in id order, pages with cursors and filters by owner', async () => {
      const rows = Array.from({ length: 25 }, (_, i) => makeRow({ owner: i % 2 ? 'odd' : 'even' }));
      for (const row of [...rows].reverse()) await store.insert(row, ctx('create'));
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.list({ limit: 10, cursor });
        seen.push(...page.items.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(rows.map((r) => r.id));
      const odd = await store.list({ owner: 'odd', limit: 5 });
      expect(odd.items.map((r) => r.id)).toEqual(
        rows
          .filter((_, i) => i % 2)
          .map((r) => r.id)
          .slice(0, 5),
      );
      const rest = await store.list({ owner: 'odd', cursor: odd.nextCursor! });
      expect(rest.items).toHaveLength(7);
      expect(rest.nextCursor).toBeNull();
      expect((await store.list({ owner: 'nobody' })).items).toEqual([]);
    });

    it('filters the list by status, scope and search text, with owner and cursors', async () => {
      const past = new Date(Date.now() - 60_000);
      const future = new Date(Date.now() + 86_400_000);
      const rows = [
        makeRow({ name: 'Billing Service', owner: 'acme', scopes: ['read', 'write'] }),
        makeRow({ name: 'old export', owner: 'acme', expiresAt: past }),
        makeRow({ name: 'gone', owner: 'Initech', revokedAt: past, enabled: false }),
        makeRow({ name: 'paused billing', owner: 'acme', enabled: false, scopes: ['write'] }),
        makeRow({ name: 'later', owner: null, expiresAt: future, scopes: ['keyward:*'] }),
      ];
      for (const row of rows) await store.insert(row, ctx('create'));
      const ids = async (query: Parameters<KeyStore['list']>[0]) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.list({ ...query, limit: 1, cursor });
          seen.push(...page.items.map((r) => r.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return seen;
      };
      const [billing, old, gone, paused, later] = rows.map((r) => r.id);
      expect(await ids({ status: 'active' })).toEqual([billing, later]);
      expect(await ids({ status: 'expired' })).toEqual([old]);
      expect(await ids({ status: 'revoked' })).toEqual([gone]);
      expect(await ids({ status: 'disabled' })).toEqual([paused]);
      expect(await ids({ scope: 'write' })).toEqual([billing, paused]);
      expect(await ids({ scope: 'keyward:*' })).toEqual([later]);
      expect(await ids({ scope: 'wri' })).toEqual([]);
      // Name or owner, ASCII letters case-insensitively; an id only exactly.
      expect(await ids({ q: 'BILLING' })).toEqual([billing, paused]);
      expect(await ids({ q: 'initech' })).toEqual([gone]);
      expect(await ids({ q: later! })).toEqual([later]);
      expect(await ids({ q: later!.slice(0, -1) })).toEqual([]);
      expect(await ids({ q: '%' })).toEqual([]);
      expect(await ids({ q: '' })).toEqual(rows.map((r) => r.id));
      expect(await ids({ owner: 'acme', status: 'active', scope: 'read', q: 'service' })).toEqual([billing]);
      expect(await ids({ owner: 'acme', status: 'disabled' })).toEqual([paused]);
    });

    it('validates list filters', async () => {
      for (const query of [
        { status: 'asleep' as 'active' },
        { scope: 'has space' },
        { q: 'x'.repeat(201) },
        { q: 'a\u0000b' },
        { q: '\ud800' },
      ]) {
        await expect(store.list(query)).rejects.toBeInstanceOf(KeyInputError);
      }
    });

    it('filters the audit log by owner and start time', async () => {
      const a = makeRow({ owner: 'acme' });
      const b = makeRow({ owner: 'other' });
      await store.insert(a, ctx('create', new Date(Date.UTC(2031, 0, 1))));
      await store.insert(b, ctx('create', new Date(Date.UTC(2031, 0, 2))));
      await store.update(a.id, { enabled: false }, ctx('disable', new Date(Date.UTC(2031, 0, 3))));
      expect((await store.audit({ owner: 'acme' })).map((e) => [e.action, e.keyId])).toEqual([
        ['disable', a.id],
        ['create', a.id],
      ]);
      const since = await store.audit({ since: new Date(Date.UTC(2031, 0, 2)) });
      expect(since.map((e) => [e.action, e.keyId])).toEqual([
        ['disable', a.id],
        ['create', b.id],
      ]);
      const page = await store.audit({ owner: 'acme', limit: 1 });
      expect(await store.audit({ owner: 'acme', before: page[0]!.seq })).toHaveLength(1);
      expect(await store.audit({ owner: 'acme', keyId: b.id })).toEqual([]);
      await expect(store.audit({ since: new Date(Number.NaN) })).rejects.toBeInstanceOf(KeyInputError);
    });

    it('claims an idempotency key once, replays its stored response, takes over stale ones (optional)', async (t) => {
      if (!store.claimIdempotency || !store.finishIdempotency) return t.skip();
      const at = new Date(Date.UTC(2031, 0, 1));
      const later = (ms: number) => new Date(at.getTime() + ms);
      const ttl = 86_400_000;
      // Concurrent claims: exactly one wins, the others see it pending.
      const claims = await Promise.all(
        Array.from({ length: 5 }, () => store.claimIdempotency!('root:abc', 'fp1', at, ttl)),
      );
      expect(claims.filter((c) => c.state === 'claimed')).toHaveLength(1);
      expect(claims.filter((c) => c.state === 'pending')).toHaveLength(4);
      await store.finishIdempotency('root:abc', { status: 201, body: '{"id":"x"}' });
      expect(await store.claimIdempotency('root:abc', 'fp2', later(1000), ttl)).toEqual({
        state: 'done',
        response: { fingerprint: 'fp1', status: 201, body: '{"id":"x"}' },
      });
      // A second finish changes nothing.
      await store.finishIdempotency('root:abc', { status: 500, body: '' });
      expect((await store.claimIdempotency('root:abc', 'fp1', later(2000), ttl)).state).toBe('done');
      // Expired: free again.
      expect(await store.claimIdempotency('root:abc', 'fp3', later(ttl + 1), ttl)).toEqual({
        state: 'claimed',
      });
      // Released: free again; claimed and never finished: taken over after a minute.
      await store.finishIdempotency('root:abc', null);
      expect((await store.claimIdempotency('root:abc', 'fp4', later(ttl + 2), ttl)).state).toBe('claimed');
      expect((await store.claimIdempotency('root:abc', 'fp4', later(ttl + 30_000), ttl)).state).toBe(
        'pending',
      );
      expect((await store.claimIdempotency('root:abc', 'fp5', later(ttl + 70_000), ttl)).state).toBe(
        'claimed',
      );
      // Keys are independent.
      expect((await store.claimIdempotency('root:other', 'fp1', later(ttl + 70_000), ttl)).state).toBe(
        'claimed',
      );
    });

    it('purges expired idempotency records on every claim (optional)', async (t) => {
      if (!store.claimIdempotency || !store.finishIdempotency) return t.skip();
      const at = new Date(Date.UTC(2032, 0, 1));
      const ttl = 60_000 * 60;
      expect((await store.claimIdempotency('root:old', 'fp1', at, ttl)).state).toBe('claimed');
      await store.finishIdempotency('root:old', { status: 201, body: '{}' });
      // Another key's claim after the TTL removes the expired record...
      const after = new Date(at.getTime() + ttl + 1);
      expect((await store.claimIdempotency('root:new', 'fp2', after, ttl)).state).toBe('claimed');
      // ...so even a longer TTL finds it gone, where a kept record would be replayed.
      expect((await store.claimIdempotency('root:old', 'fp1', after, ttl * 10)).state).toBe('claimed');
    });

    it('validates list limits and cursors', async () => {
      await expect(store.list({ limit: 0 })).rejects.toBeInstanceOf(KeyInputError);
      await expect(store.list({ limit: 1001 })).rejects.toBeInstanceOf(KeyInputError);
      await expect(store.list({ cursor: 'not a cursor' })).rejects.toBeInstanceOf(KeyInputError);
    });

    it('updates atomically with an audit entry holding only what changed', async () => {
      const row = makeRow({ name: 'old', scopes: ['read'] });
      await store.insert(row, ctx('create'));
      const updated = await store.update(
        row.id,
        { name: 'new', scopes: ['read'], enabled: false },
        ctx('update'),
      );
      expect(updated).toMatchObject({ name: 'new', enabled: false, scopes: ['read'] });
      expect(await store.get(row.id)).toEqual(updated);
      const [entry] = await store.audit({ keyId: row.id, limit: 1 });
      expect(entry).toMatchObject({
        action: 'update',
        actor: 'contract',
        keyId: row.id,
        changes: { name: { from: 'old', to: 'new' }, enabled: { from: true, to: false } },
      });
      expect(Object.keys(entry!.changes).sort()).toEqual(['enabled', 'name']);
      // A patch that changes nothing is not an event.
      await store.update(row.id, { name: 'new' }, ctx('update'));
      expect(await store.audit({ keyId: row.id })).toHaveLength(2);
    });

    it('keeps restrictions, changes them kind by kind with an audit entry, and lifts them', async () => {
      const row = makeRow({ restrictions: { ipAllow: ['10.0.0.0/8'] } });
      await store.insert(row, ctx('create'));
      const [created] = await store.audit({ keyId: row.id });
      expect(created!.changes).toMatchObject({ restrictions: { ipAllow: ['10.0.0.0/8'] } });
      const both = await store.update(row.id, { restrictions: { routes: ['POST /jobs'] } }, ctx('update'));
      expect(both.restrictions).toEqual({ ipAllow: ['10.0.0.0/8'], routes: ['POST /jobs'] });
      expect((await store.findByHash(row.hash))!.restrictions).toEqual(both.restrictions);
      const [entry] = await store.audit({ keyId: row.id, limit: 1 });
      expect(entry!.changes).toEqual({
        restrictions: {
          from: { ipAllow: ['10.0.0.0/8'] },
          to: { ipAllow: ['10.0.0.0/8'], routes: ['POST /jobs'] },
        },
      });
      const routesOnly = await store.update(row.id, { restrictions: { ipAllow: [] } }, ctx('update'));
      expect(routesOnly.restrictions).toEqual({ routes: ['POST /jobs'] });
      const none = await store.update(row.id, { restrictions: { routes: [] } }, ctx('update'));
      expect(none.restrictions).toBeNull();
      expect((await store.get(row.id))!.restrictions).toBeNull();
      await store.update(row.id, { restrictions: { originAllow: ['https://a.example'] } }, ctx('update'));
      expect((await store.update(row.id, { restrictions: null }, ctx('update'))).restrictions).toBeNull();
      expect((await store.get(row.id))!.restrictions).toBeNull();
      // In a batch too, with and without.
      const limited = makeRow({ restrictions: { originAllow: ['https://*.example.org'] } });
      const open = makeRow();
      expect(await store.insertMany([limited, open], ctx('import'))).toEqual([limited.id, open.id]);
      expect((await store.findByHash(limited.hash))!.restrictions).toEqual({
        originAllow: ['https://*.example.org'],
      });
      expect((await store.get(open.id))!.restrictions).toBeNull();
    });

    it('finds many keys by hash in one call, in order (findManyByHash, optional)', async (t) => {
      if (!store.findManyByHash) return t.skip();
      const a = makeRow();
      const b = makeRow();
      await store.insert(a, ctx('create'));
      await store.insert(b, ctx('create'));
      const missing = makeRow().hash;
      const found = await store.findManyByHash([b.hash, missing, a.hash, b.hash]);
      expect(found.map((r) => r?.id)).toEqual([b.id, undefined, a.id, b.id]);
      expect(found[2]).toEqual(publicPart(a));
      expect(await store.findManyByHash([])).toEqual([]);
    });

    it('updates many keys in one call, skipping unknown ids, and writes none when one is refused (updateMany, optional)', async (t) => {
      if (!store.updateMany) return t.skip();
      const a = makeRow();
      const b = makeRow();
      await store.insert(a, ctx('create'));
      await store.insert(b, ctx('create'));
      const revokedAt = new Date(clock);
      const detail = { url: 'https://example.com/leak' };
      const after = await store.updateMany([
        { id: a.id, patch: { revokedAt }, context: { ...ctx('leak'), detail } },
        { id: 'key_000000000000000000', patch: { revokedAt }, context: ctx('leak') },
        { id: b.id, patch: { enabled: false }, context: ctx('leak') },
      ]);
      expect(after.map((r) => r?.id)).toEqual([a.id, undefined, b.id]);
      expect((await store.get(a.id))!.revokedAt).toEqual(revokedAt);
      expect((await store.get(b.id))!.enabled).toBe(false);
      expect((await store.audit({ keyId: a.id, limit: 1 }))[0]).toMatchObject({ action: 'leak', detail });
      // Reviving the revoked key is refused: the other change in the call is not written either.
      const audited = (await store.audit({ limit: 1000 })).length;
      await expect(
        store.updateMany([
          { id: b.id, patch: { enabled: true }, context: ctx('update') },
          { id: a.id, patch: { revokedAt: null }, context: ctx('update') },
        ]),
      ).rejects.toThrow(KeyStateError);
      expect((await store.get(b.id))!.enabled).toBe(false);
      expect(await store.audit({ limit: 1000 })).toHaveLength(audited);
    });

    it('writes every field a change makes through updateMany, as through update (optional)', async (t) => {
      if (!store.updateMany) return t.skip();
      const row = makeRow();
      await store.insert(row, ctx('create'));
      const [after] = await store.updateMany([
        {
          id: row.id,
          patch: { name: 'renamed', scopes: ['a'], restrictions: { ipAllow: ['10.0.0.0/8'] } },
          context: ctx('update'),
        },
      ]);
      expect(after).toMatchObject({
        name: 'renamed',
        scopes: ['a'],
        restrictions: { ipAllow: ['10.0.0.0/8'] },
      });
      expect(await store.get(row.id)).toEqual(after);
    });

    it('appends an audit entry about no key, in order with the others (recordAudit, optional)', async (t) => {
      if (!store.recordAudit) return t.skip();
      const before = await store.changesSince(Number.MAX_SAFE_INTEGER, 1);
      await store.recordAudit(
        { ...ctx('webhook_add'), actor: 'key_root' },
        { webhook: 'wh_0123456789abcdef', url: 'https://hooks.example/in', events: ['key.created'] },
      );
      const [entry] = await store.audit({ limit: 1 });
      expect(entry).toMatchObject({
        action: 'webhook_add',
        actor: 'key_root',
        keyId: null,
        changes: { webhook: 'wh_0123456789abcdef', url: 'https://hooks.example/in', events: ['key.created'] },
      });
      const after = await store.changesSince(before.latest, 10);
      expect(after.changes.map((c) => c.action)).toEqual(['webhook_add']);
    });

    it('keeps an audit detail, and audits a leak even when it changes nothing, keeping the first revocation', async () => {
      const row = makeRow();
      await store.insert(row, ctx('create'));
      const revokedAt = new Date(clock - 1000);
      const detail = { url: 'https://github.com/o/r/blob/abc/x.env', source: 'content' };
      await store.update(row.id, { revokedAt }, { ...ctx('leak'), detail });
      // Reported again, with a later time: still audited, the revocation time stays.
      const again = await store.update(
        row.id,
        { revokedAt: new Date(clock) },
        { ...ctx('leak'), detail: { ...detail, source: 'npm' } },
      );
      expect(again.revokedAt).toEqual(revokedAt);
      const [second, first, created] = await store.audit({ keyId: row.id });
      expect(first).toMatchObject({
        action: 'leak',
        detail,
        changes: { revokedAt: { to: revokedAt.toISOString() } },
      });
      expect(second).toMatchObject({ action: 'leak', detail: { ...detail, source: 'npm' }, changes: {} });
      // Entries without a detail have none.
      expect(created!.detail).toBeUndefined();
    });

    it('rejects changes to unknown keys without auditing them', async () => {
      const id = newKeyId();
      await expect(store.update(id, { name: 'x' }, ctx('update'))).rejects.toBeInstanceOf(KeyNotFoundError);
      await expect(store.delete(id, ctx('delete'))).rejects.toBeInstanceOf(KeyNotFoundError);
      await expect(store.rotate(id, makeRow(), {}, ctx('rotate'))).rejects.toBeInstanceOf(KeyNotFoundError);
      expect(await store.audit({})).toEqual([]);
    });

    it('rotates atomically: successor in, old patched and linked, both audited', async () => {
      const old = makeRow({ name: 'svc' });
      await store.insert(old, ctx('create'));
      const successor = makeRow({ name: 'svc' });
      const until = new Date(clock + 3_600_000);
      const result = await store.rotate(old.id, successor, { expiresAt: until }, ctx('rotate'));
      expect(result.previous).toMatchObject({ id: old.id, expiresAt: until, replacedBy: successor.id });
      expect(result.successor).toMatchObject({ id: successor.id, replaces: old.id, replacedBy: null });
      expect(await store.findByHash(successor.hash)).toMatchObject({ id: successor.id, replaces: old.id });
      expect(await store.get(old.id)).toEqual(result.previous);
      const [created, rotated] = await store.audit({ limit: 2 });
      expect(rotated).toMatchObject({
        action: 'rotate',
        keyId: old.id,
        changes: { replacedBy: successor.id },
      });
      expect(created).toMatchObject({ action: 'create', keyId: successor.id, changes: { replaces: old.id } });
    });

    it('moves the uses left, as read inside the rotation, to the successor', async () => {
      const old = makeRow({ remainingUses: 5 });
      await store.insert(old, ctx('create'));
      // A use taken after the rotation was planned (with 5 left) must not be given again.
      expect(await store.consumeUse(old.id, new Date(clock))).toBe(4);
      const successor = makeRow({ remainingUses: 5 });
      const result = await store.rotate(old.id, successor, {}, ctx('rotate'));
      expect(result.successor.remainingUses).toBe(4);
      expect(result.previous.remainingUses).toBe(0);
      expect(await store.get(old.id)).toMatchObject({ remainingUses: 0 });
      expect(await store.consumeUse(old.id, new Date(clock))).toBeNull();

      const unlimited = makeRow({ remainingUses: null });
      await store.insert(unlimited, ctx('create'));
      const next = await store.rotate(unlimited.id, makeRow({ remainingUses: 7 }), {}, ctx('rotate'));
      expect(next.successor.remainingUses).toBeNull();
      expect(next.previous.remainingUses).toBeNull();
    });

    it('refuses to rotate a revoked or already rotated key, changing nothing', async () => {
      const revoked = makeRow({ revokedAt: new Date(clock) });
      await store.insert(revoked, ctx('create'));
      const next = makeRow();
      await expect(store.rotate(revoked.id, next, {}, ctx('rotate'))).rejects.toBeInstanceOf(KeyStateError);
      expect(await store.get(next.id)).toBeUndefined();

      const live = makeRow();
      await store.insert(live, ctx('create'));
      await store.rotate(live.id, makeRow(), {}, ctx('rotate'));
      const again = makeRow();
      await expect(store.rotate(live.id, again, {}, ctx('rotate'))).rejects.toBeInstanceOf(KeyStateError);
      expect(await store.get(again.id)).toBeUndefined();
    });

    it('refuses updates that would revive a rotated-away or revoked key, changing nothing', async () => {
      const old = makeRow({ remainingUses: 5, expiresAt: new Date(clock + 86_400_000) });
      await store.insert(old, ctx('create'));
      const grace = new Date(clock + 60_000);
      await store.rotate(old.id, makeRow({ remainingUses: 5 }), { expiresAt: grace }, ctx('rotate'));
      const rotated = await store.get(old.id);
      const audited = (await store.audit({})).length;
      for (const patch of [
        { expiresAt: null },
        { expiresAt: new Date(clock + 120_000) },
        { remainingUses: null },
        { remainingUses: 1 },
        { name: 'renamed', remainingUses: 100 },
      ]) {
        await expect(store.update(old.id, patch, ctx('update'))).rejects.toBeInstanceOf(KeyStateError);
      }
      expect(await store.get(old.id)).toEqual(rotated);
      expect(await store.audit({})).toHaveLength(audited);
      // Shortening stays possible, as does anything else.
      const sooner = new Date(clock + 30_000);
      expect(
        await store.update(old.id, { expiresAt: sooner, remainingUses: 0, name: 'old' }, ctx('update')),
      ).toMatchObject({ expiresAt: sooner, remainingUses: 0, name: 'old' });

      const revoked = makeRow({ revokedAt: new Date(clock) });
      await store.insert(revoked, ctx('create'));
      await expect(store.update(revoked.id, { revokedAt: null }, ctx('update'))).rejects.toBeInstanceOf(
        KeyStateError,
      );
      expect((await store.get(revoked.id))?.revokedAt).toEqual(revoked.revokedAt);
    });

    it('deletes a key and keeps its audit history', async () => {
      const row = makeRow({ name: 'gone', owner: 'acme' });
      await store.insert(row, ctx('create'));
      expect(await store.delete(row.id, ctx('delete'))).toMatchObject({ id: row.id, name: 'gone' });
      expect(await store.get(row.id)).toBeUndefined();
      expect(await store.findByHash(row.hash)).toBeUndefined();
      expect((await store.audit({ keyId: row.id })).map((e) => e.action)).toEqual(['delete', 'create']);
    });

    it('takes exactly N uses of a key with N uses, also under concurrent calls', async () => {
      const row = makeRow({ remainingUses: 5 });
      await store.insert(row, ctx('create'));
      const at = new Date(clock + 5000);
      const results = await Promise.all(Array.from({ length: 15 }, () => store.consumeUse(row.id, at)));
      expect(results.filter((r) => r !== null).sort()).toEqual([0, 1, 2, 3, 4]);
      expect(await store.get(row.id)).toMatchObject({ remainingUses: 0, useCount: 5, lastUsedAt: at });
      const unlimited = makeRow();
      await store.insert(unlimited, ctx('create'));
      expect(await store.consumeUse(unlimited.id, at)).toBeNull();
      expect(await store.consumeUse(newKeyId(), at)).toBeNull();
    });

    it('adds usage batches: counts add up, last use only moves forward, unknown ids are ignored', async () => {
      const row = makeRow();
      await store.insert(row, ctx('create'));
      const t1 = new Date(clock + 10_000);
      const t0 = new Date(clock + 5_000);
      await store.recordUsage([
        { id: row.id, count: 3, lastUsedAt: t1 },
        { id: newKeyId(), count: 9, lastUsedAt: t1 },
      ]);
      await store.recordUsage([{ id: row.id, count: 2, lastUsedAt: t0 }]);
      await store.recordUsage([]);
      expect(await store.get(row.id)).toMatchObject({ useCount: 5, lastUsedAt: t1 });
      // Usage is not an administrative change.
      expect(await store.audit({})).toHaveLength(1);
    });

    it('reads the audit log newest first, by key, with limits and paging', async () => {
      const a = makeRow();
      const b = makeRow();
      await store.insert(a, ctx('create'));
      await store.insert(b, ctx('create'));
      await store.update(a.id, { enabled: false }, ctx('disable'));
      await store.update(a.id, { revokedAt: new Date(clock) }, ctx('revoke'));
      const all = await store.audit({});
      expect(all.map((e) => e.action)).toEqual(['revoke', 'disable', 'create', 'create']);
      expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((x, y) => y - x));
      expect(all[0]!.at).toBeInstanceOf(Date);
      expect((await store.audit({ keyId: b.id })).map((e) => e.action)).toEqual(['create']);
      expect(await store.audit({ limit: 1 })).toEqual([all[0]]);
      expect(await store.audit({ before: all[1]!.seq })).toEqual(all.slice(2));
      const text = JSON.stringify(all);
      expect(text).not.toContain(Buffer.from(a.hash).toString('hex'));
      expect(text).not.toContain(Buffer.from(a.hash).toString('base64'));
    });

    it('serves the audit log as a change feed', async () => {
      expect(await store.changesSince(0, 10)).toEqual({ changes: [], latest: 0 });
      const a = makeRow();
      await store.insert(a, ctx('create'));
      await store.update(a.id, { enabled: false }, ctx('disable'));
      await store.delete(a.id, ctx('delete'));
      const { changes, latest } = await store.changesSince(0, 10);
      expect(changes.map((c) => [c.action, c.keyId])).toEqual([
        ['create', a.id],
        ['disable', a.id],
        ['delete', a.id],
      ]);
      expect(latest).toBe(changes[2]!.seq);
      expect((await store.changesSince(changes[0]!.seq, 1)).changes).toEqual([changes[1]]);
      expect((await store.changesSince(latest, 10)).changes).toEqual([]);
      expect((await store.changesSince(Number.MAX_SAFE_INTEGER, 1)).latest).toBe(latest);
    });

    it('never says a stored key is absent (mayContain, for stores with a membership filter)', async (t) => {
      const mayContain = store.mayContain?.bind(store);
      if (!mayContain) return t.skip();
      const first = makeRow();
      await store.insert(first, ctx('create'));
      const stored = [first, ...[1, 2, 3].map(() => makeRow())];
      await store.insertMany(stored.slice(1), ctx('import'));
      for (const row of stored) expect(mayContain(row.tag!)).toBe(true);
      await untilFilterAnswers(store);
      const successor = makeRow();
      await store.rotate(first.id, successor, {}, ctx('rotate'));
      const later = makeRow();
      await store.insert(later, ctx('create'));
      for (const row of [...stored, successor, later]) expect(mayContain(row.tag!)).toBe(true);
      const absent = Array.from({ length: 1000 }, () => randomBytes(4).readInt32BE());
      expect(absent.filter((tag) => mayContain(tag)).length).toBeLessThan(50);
    });

    it('audits each key of a batch with its own settings, in the order given', async () => {
      const scopes = ['read'];
      const metadata = {};
      const shared = { name: 'a', scopes, metadata };
      const rows = [
        makeRow(shared),
        makeRow(shared),
        makeRow({ name: 'b', scopes: ['write'], metadata: { plan: 'pro' } }),
        makeRow(shared),
        makeRow({ ...shared, rateLimit: { limit: 5, windowSeconds: 60 } }),
        makeRow({ ...shared, owner: 'acme' }),
        makeRow({ ...shared, name: 'c' }),
        makeRow({ ...shared, expiresAt: new Date(clock + 3_600_000) }),
        makeRow({ ...shared, enabled: false }),
        makeRow({ ...shared, remainingUses: 3 }),
        makeRow({ ...shared, replaces: newKeyId(clock - 1000) }),
        makeRow(shared),
      ];
      await store.insertMany(rows, ctx('import'));
      const audit = (await store.audit({ limit: 100 })).filter((e) => e.action === 'import').reverse();
      expect(audit.map((e) => e.keyId)).toEqual(rows.map((r) => r.id));
      // Every entry holds exactly its own row's settings, whatever the row before it held.
      for (const [i, entry] of audit.entries()) expect(entry.changes).toEqual(creationChanges(rows[i]!));
      const summary = audit
        .slice(0, 6)
        .map((e) => [e.changes['name'], e.changes['scopes'], e.changes['owner']]);
      expect(summary).toEqual([
        ['a', ['read'], null],
        ['a', ['read'], null],
        ['b', ['write'], null],
        ['a', ['read'], null],
        ['a', ['read'], null],
        ['a', ['read'], 'acme'],
      ]);
      expect(audit[2]!.changes['metadata']).toEqual({ plan: 'pro' });
      expect(audit.slice(0, 6).map((e) => e.changes['rateLimit'])).toEqual([
        null,
        null,
        null,
        null,
        { limit: 5, windowSeconds: 60 },
        null,
      ]);
    });

    it('keeps the audit text of imported keys exact, whatever their settings hold', async () => {
      const odd = [
        'quote " backslash \\ slash / newline \n tab \t',
        'bell \u0007 and escape \u001b',
        'a surrogate pair 😀 and \\ud800 as text',
        'json-looking {"a":[1,2]} and \\u0041',
        'é ü ß 中文 \u2028 \u2029',
      ];
      const rows = odd.map((text, i) =>
        makeRow({ name: `odd ${i} ${text.slice(0, 20)}`, metadata: { text, nested: { text, n: i } } }),
      );
      await store.insertMany(rows, ctx('import'));
      const audit = (await store.audit({ limit: 100 })).filter((e) => e.action === 'import').reverse();
      expect(audit.map((e) => e.keyId)).toEqual(rows.map((r) => r.id));
      for (const [i, entry] of audit.entries()) {
        expect(entry.changes['name']).toBe(rows[i]!.name);
        expect(entry.changes['metadata']).toEqual({ text: odd[i], nested: { text: odd[i], n: i } });
      }
    });

    it('audits every key of a batch whose settings are large, in order', async () => {
      // About 14 KB of metadata each, different for every row: the audit text of the batch
      // is several times any single statement's natural size.
      const rows = Array.from({ length: 600 }, (_, i) =>
        makeRow({ metadata: { i, text: `"${String(i).padStart(6, '0')}\\`.repeat(1_600) } }),
      );
      expect(await store.insertMany(rows, ctx('import'))).toEqual(rows.map((r) => r.id));
      const audit = (await store.audit({ limit: 1000 })).filter((e) => e.action === 'import').reverse();
      expect(audit.map((e) => e.keyId)).toEqual(rows.map((r) => r.id));
      expect(audit.map((e) => (e.changes['metadata'] as { i: number }).i)).toEqual(rows.map((_, i) => i));
      expect(audit[599]!.changes).toEqual(creationChanges(rows[599]!));
    });

    it('inserts many in one call, skipping hashes already taken, auditing each', async () => {
      const existing = makeRow();
      await store.insert(existing, ctx('create'));
      const fresh = Array.from({ length: 50 }, () => makeRow());
      const repeat = makeRow({ hash: fresh[0]!.hash });
      const ids = await store.insertMany([...fresh, makeRow({ hash: existing.hash }), repeat], ctx('import'));
      expect(ids).toEqual(fresh.map((r) => r.id));
      expect(await store.get(repeat.id)).toBeUndefined();
      expect(await store.findByHash(fresh[7]!.hash)).toEqual(publicPart(fresh[7]!));
      const audit = await store.audit({ limit: 1000 });
      expect(audit.filter((e) => e.action === 'import')).toHaveLength(50);
    });

    describeOwnerContract(() => store);
  });
}

/** Owners, credits and lifecycle steps (optional store methods): skipped for a store without them. */
function describeOwnerContract(current: () => KeyStore): void {
  const owners = (t: { skip: () => void }) => {
    const store = current();
    if (!store.insertOwner || !store.spendCredits || !store.disableStale) t.skip();
    return store as Required<KeyStore>;
  };
  const at = () => new Date(clock);

  it('keeps owners: unique names, every field round-trips, paged in name order, audited', async (t) => {
    const store = owners(t);
    const acme = newOwner(
      {
        name: 'acme',
        rateLimit: '10/1m',
        credits: 50,
        refill: '100/month',
        refillDay: 31,
        timeZone: 'Europe/Berlin',
        metadata: { plan: 'pro' },
        maxLifetime: '90d',
      },
      clock,
    );
    await store.insertOwner(acme, ctx('owner_create'));
    expect(await store.getOwner('acme')).toEqual(acme);
    const error = await store
      .insertOwner(newOwner({ name: 'acme' }, clock), ctx('owner_create'))
      .catch((e) => e);
    expect(error).toBeInstanceOf(KeyStateError);
    for (const name of ['zeta', 'beta', 'Émile'])
      await store.insertOwner(newOwner({ name }, clock), ctx('owner_create'));
    const first = await store.listOwners({ limit: 2 });
    const second = await store.listOwners({ limit: 2, cursor: first.nextCursor! });
    const names = [...first.items, ...second.items].map((o) => o.name);
    expect(names).toEqual(['acme', 'beta', 'zeta', 'Émile']);
    expect(second.nextCursor).toBeNull();
    const [entry] = await store.audit({ limit: 1 });
    expect(entry).toMatchObject({ action: 'owner_create', keyId: null, changes: { owner: 'Émile' } });
    expect(await store.getOwner('nobody')).toBeUndefined();
  });

  it('updates an owner atomically with an audit entry of what changed; none when nothing did', async (t) => {
    const store = owners(t);
    await store.insertOwner(newOwner({ name: 'acme', credits: 5 }, clock), ctx('owner_create'));
    const updated = await store.updateOwner(
      'acme',
      { credits: 7, rateLimit: { limit: 3, windowSeconds: 1 } },
      ctx('owner_update', new Date(clock + 5)),
    );
    expect(updated).toMatchObject({ credits: 7, rateLimit: { limit: 3, windowSeconds: 1 } });
    expect(updated.updatedAt).toEqual(new Date(clock + 5));
    expect(await store.getOwner('acme')).toEqual(updated);
    const [entry] = await store.audit({ limit: 1 });
    expect(entry).toMatchObject({
      action: 'owner_update',
      keyId: null,
      changes: {
        owner: 'acme',
        credits: { from: 5, to: 7 },
        rateLimit: { from: null, to: { limit: 3, windowSeconds: 1 } },
      },
    });
    const audited = (await store.audit({})).length;
    await store.updateOwner('acme', { credits: 7 }, ctx('owner_update'));
    expect(await store.audit({})).toHaveLength(audited);
    await expect(store.updateOwner('nobody', { credits: 1 }, ctx('owner_update'))).rejects.toBeInstanceOf(
      OwnerNotFoundError,
    );
  });

  it('keeps owner restrictions, changes them kind by kind with an audit entry, and lifts them', async (t) => {
    const store = owners(t);
    const acme = newOwner({ name: 'acme', ipAllow: '10.0.0.0/8, 2001:DB8::/32' }, clock);
    expect(acme.restrictions).toEqual({ ipAllow: ['10.0.0.0/8', '2001:db8::/32'] });
    await store.insertOwner(acme, ctx('owner_create'));
    expect(await store.getOwner('acme')).toEqual(acme);
    const [created] = await store.audit({ limit: 1 });
    expect(created!.changes).toMatchObject({ restrictions: { ipAllow: ['10.0.0.0/8', '2001:db8::/32'] } });
    const both = await store.updateOwner(
      'acme',
      ownerPatch({ routes: 'get /reports/*' }, null, clock),
      ctx('owner_update'),
    );
    expect(both.restrictions).toEqual({
      ipAllow: ['10.0.0.0/8', '2001:db8::/32'],
      routes: ['GET /reports/*'],
    });
    expect((await store.getOwner('acme'))!.restrictions).toEqual(both.restrictions);
    const [entry] = await store.audit({ limit: 1 });
    expect(entry!.changes).toEqual({
      owner: 'acme',
      restrictions: { from: acme.restrictions, to: both.restrictions },
    });
    const routesOnly = await store.updateOwner(
      'acme',
      { restrictions: { ipAllow: [] } },
      ctx('owner_update'),
    );
    expect(routesOnly.restrictions).toEqual({ routes: ['GET /reports/*'] });
    await store.updateOwner(
      'acme',
      { restrictions: { originAllow: ['https://a.example'] } },
      ctx('owner_update'),
    );
    const none = await store.updateOwner('acme', { restrictions: null }, ctx('owner_update'));
    expect(none.restrictions).toBeNull();
    expect((await store.getOwner('acme'))!.restrictions).toBeNull();
    // Other fields leave them as they are; an owner without any has none.
    await store.updateOwner('acme', { restrictions: { routes: ['POST /jobs'] } }, ctx('owner_update'));
    expect((await store.updateOwner('acme', { credits: 3 }, ctx('owner_update'))).restrictions).toEqual({
      routes: ['POST /jobs'],
    });
    await store.insertOwner(newOwner({ name: 'open' }, clock), ctx('owner_create'));
    expect((await store.getOwner('open'))!.restrictions).toBeNull();
    expect((await store.listOwners({})).items.map((o) => o.restrictions)).toEqual([
      { routes: ['POST /jobs'] },
      null,
    ]);
  });

  it('refuses to delete an owner with live keys unless forced, which revokes them in the same step', async (t) => {
    const store = owners(t);
    await store.insertOwner(newOwner({ name: 'acme' }, clock), ctx('owner_create'));
    const live = makeRow({ owner: 'acme' });
    const revoked = makeRow({ owner: 'acme', revokedAt: new Date(clock) });
    const other = makeRow({ owner: 'other' });
    for (const row of [live, revoked, other]) await store.insert(row, ctx('create'));
    const refused = await store.deleteOwner('acme', ctx('owner_delete'), false).catch((e) => e);
    expect(refused).toBeInstanceOf(KeyStateError);
    expect(await store.getOwner('acme')).toBeDefined();
    const deleted = await store.deleteOwner('acme', ctx('owner_delete', new Date(clock + 9)), true);
    expect(deleted.name).toBe('acme');
    expect(await store.getOwner('acme')).toBeUndefined();
    expect((await store.get(live.id))?.revokedAt).toEqual(new Date(clock + 9));
    expect((await store.get(other.id))?.revokedAt).toBeNull();
    const [gone, revoke] = await store.audit({ limit: 2 });
    expect(gone).toMatchObject({ action: 'owner_delete', keyId: null, changes: { owner: 'acme' } });
    expect(revoke).toMatchObject({ action: 'revoke', keyId: live.id });
    await expect(store.deleteOwner('acme', ctx('owner_delete'), true)).rejects.toBeInstanceOf(
      OwnerNotFoundError,
    );
  });

  it('spends shared credits atomically: never below zero, never refusing what it can pay', async (t) => {
    const store = owners(t);
    await store.insertOwner(newOwner({ name: 'acme', credits: 100 }, clock), ctx('owner_create'));
    const costs = Array.from({ length: 200 }, (_, i) => 1 + (i % 5));
    const results = await Promise.all(costs.map((cost) => store.spendCredits('acme', cost, null)));
    const paid = costs.filter((_, i) => results[i] !== null);
    const spent = paid.reduce((a, b) => a + b, 0);
    const left = (await store.getOwner('acme'))!.credits!;
    expect(left).toBeGreaterThanOrEqual(0);
    expect(spent + left).toBe(100);
    // Refused only when what was left then could not pay: at the end, nothing refused could be paid now.
    const refused = costs.filter((_, i) => results[i] === null);
    expect(refused.every((cost) => cost > left)).toBe(true);
    expect(await store.spendCredits('nobody', 1, null)).toBeNull();
    await store.insertOwner(newOwner({ name: 'free' }, clock), ctx('owner_create'));
    expect(await store.spendCredits('free', 1, null)).toBeNull();
  });

  it('refills once per period, however many spend at once, and after missed periods', async (t) => {
    const store = owners(t);
    const start = Date.UTC(2030, 0, 10, 12);
    const owner = newOwner({ name: 'acme', refill: '10/day' }, start);
    await store.insertOwner(owner, ctx('owner_create'));
    const today = new Date(periodStart(owner.refill!, start));
    expect(await store.spendCredits('acme', 10, today)).toBe(0);
    expect(await store.spendCredits('acme', 1, today)).toBeNull();
    // Three days later (two refills missed): one refill, to the amount, whatever the concurrency.
    const later = new Date(periodStart(owner.refill!, start + 3 * 86_400_000));
    const results = await Promise.all(Array.from({ length: 30 }, () => store.spendCredits('acme', 1, later)));
    expect(results.filter((r) => r !== null)).toHaveLength(10);
    expect((await store.getOwner('acme'))!.refilledAt).toEqual(later);
    expect(await store.spendCredits('acme', 1, later)).toBeNull();
  });

  it('takes several uses of a key at once, only when enough are left', async (t) => {
    const store = owners(t);
    const row = makeRow({ remainingUses: 10 });
    await store.insert(row, ctx('create'));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.consumeUse(row.id, at(), 1 + (i % 3))),
    );
    const left = (await store.get(row.id))!.remainingUses!;
    const costs = results.map((_, i) => 1 + (i % 3));
    const paid = costs.filter((_, i) => results[i] !== null).reduce((a, b) => a + b, 0);
    expect(paid + left).toBe(10);
    expect(left).toBeGreaterThanOrEqual(0);
    expect(await store.consumeUse(row.id, at(), left + 1)).toBeNull();
    expect((await store.get(row.id))!.remainingUses).toBe(left);
  });

  it('disables keys unused since a cutoff in one step, one audit entry each', async (t) => {
    const store = owners(t);
    const base = clock;
    const old = makeRow({ createdAt: new Date(base - 100_000), lastUsedAt: null });
    const usedLong = makeRow({ createdAt: new Date(base - 100_000), lastUsedAt: new Date(base - 90_000) });
    const recent = makeRow({ createdAt: new Date(base - 100_000), lastUsedAt: new Date(base - 10) });
    const revoked = makeRow({ createdAt: new Date(base - 100_000), revokedAt: new Date(base - 100_000) });
    for (const row of [old, usedLong, recent, revoked]) await store.insert(row, ctx('create'));
    const disabled = await store.disableStale(new Date(base - 50_000), ctx('disable'));
    expect(disabled.map((r) => r.id).sort()).toEqual([old.id, usedLong.id].sort());
    expect(disabled.every((r) => !r.enabled)).toBe(true);
    expect((await store.get(recent.id))!.enabled).toBe(true);
    const entries = (await store.audit({ limit: 2 })).map((e) => [e.action, e.keyId]);
    expect(entries.sort()).toEqual(
      [
        ['disable', old.id],
        ['disable', usedLong.id],
      ].sort(),
    );
    expect(await store.disableStale(new Date(base - 50_000), ctx('disable'))).toEqual([]);
  });

  it('replaces a secret in place: same key, the old secret until its grace ends, both stopped by a revoke', async (t) => {
    const store = current();
    if (!store.replaceSecret) return t.skip();
    const row = makeRow({ remainingUses: 5, owner: 'acme' });
    await store.insert(row, ctx('create'));
    const fresh = { hash: randomBytes(32), tag: randomBytes(4).readInt32BE(), display: 'kw_New…' };
    const until = new Date(clock + 60_000);
    const replaced = await store.replaceSecret(row.id, fresh, until, ctx('rotate'));
    expect(replaced).toEqual({ ...publicPart(row), display: 'kw_New…' });
    expect(await store.findByHash(fresh.hash)).toEqual(replaced);
    expect(await store.findByHash(row.hash)).toEqual({ ...replaced, expiresAt: until });
    if (store.mayContain) {
      await untilFilterAnswers(store);
      expect(store.mayContain(fresh.tag)).toBe(true);
      expect(store.mayContain(row.tag!)).toBe(true);
    }
    const [entry] = await store.audit({ keyId: row.id, limit: 1 });
    expect(entry).toMatchObject({
      action: 'rotate',
      changes: { inPlace: true, previousSecretUntil: until.toISOString() },
    });
    expect(JSON.stringify(entry)).not.toContain(Buffer.from(fresh.hash).toString('hex'));
    // Uses and history are the key's: shared by both secrets.
    expect(await store.consumeUse(row.id, new Date(clock))).toBe(4);
    // Revoking the key stops both secrets.
    await store.update(row.id, { revokedAt: new Date(clock) }, ctx('revoke'));
    expect((await store.findByHash(row.hash))?.revokedAt).toEqual(new Date(clock));
    expect(
      await store
        .replaceSecret(row.id, { ...fresh, hash: randomBytes(32) }, null, ctx('rotate'))
        .catch((e) => e),
    ).toBeInstanceOf(KeyStateError);
    // A new rotation with no grace drops the previous secret at once; a taken hash is refused.
    const other = makeRow();
    await store.insert(other, ctx('create'));
    const next = { hash: randomBytes(32), tag: 1, display: 'kw_Nxt…' };
    await expect(
      store
        .replaceSecret(other.id, { ...next, hash: fresh.hash.slice() }, null, ctx('rotate'))
        .catch((e) => e),
    ).resolves.toBeInstanceOf(DuplicateKeyError);
    await store.replaceSecret(other.id, next, null, ctx('rotate'));
    expect(await store.findByHash(other.hash)).toBeUndefined();
    expect((await store.findByHash(next.hash))?.id).toBe(other.id);
    await expect(store.replaceSecret(newKeyId(), next, null, ctx('rotate'))).rejects.toBeInstanceOf(
      KeyNotFoundError,
    );
  });
}
