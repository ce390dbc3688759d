import { createHmac } from 'node:crypto';
import { KeyManager, type KeyPrincipal, MemoryKeyStore } from '@keyward/keys';
import { type AuthResult, apiKeyHeader, createGuard } from 'keyward';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditContext, NewKeyRow } from '../../packages/keys/src/store/types.js';
import { isSpendable } from '../../packages/keyward/src/core/verdict.js';
import { rateLimits } from '../../packages/keyward/src/limits/rate-limits.js';
import { counting, fakeClock, memoryManager } from './fixtures.js';
import { PEPPER } from './temp.js';

const ctx = (scopes: string[] = []) => ({ scheme: undefined as never, scopes });
/** The principal of a verifier's verdict (its first phase), or the verdict when it is none. */
const principal = (verdict: unknown) => (isSpendable(verdict) ? verdict.principal : verdict);
const header = apiKeyHeader({ name: 'X-API-Key' });
const from = (key: string, peer = '203.0.113.7') => ({
  header: (n: string) => (n === 'x-api-key' ? key : undefined),
  query: () => '',
  peer: () => peer,
});
const code = (r: AuthResult<unknown>) => (r.ok ? 'ok' : r.failure.code);
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

describe('KeyManager verification', () => {
  it('stores only the keyed hash and returns the plaintext once', async () => {
    const { manager, store } = await setup();
    const { key, record } = await manager.create({ name: 'svc' });
    expect(key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
    expect(JSON.stringify(record)).not.toContain(key.slice(3));
    const hash = createHmac('sha256', PEPPER).update(key).digest();
    expect((await store.findByHash(hash))?.id).toBe(record.id);
  });

  it('names every outcome', async () => {
    const { manager, clock } = await setup();
    const ok = await manager.create({ name: 'ok', scopes: ['read'] });
    const expiring = await manager.create({ name: 'exp', expiresIn: '1h' });
    const revoked = await manager.create({ name: 'rev' });
    const disabled = await manager.create({ name: 'dis' });
    const once = await manager.create({ name: 'once', uses: 1 });
    await manager.revoke(revoked.record.id);
    await manager.disable(disabled.record.id);
    const unknown = manager.format.generate();
    const outcome = async (key: string, scopes?: string[]) => (await manager.check(key, { scopes })).outcome;

    expect(await outcome(ok.key)).toBe('valid');
    expect(await outcome(unknown)).toBe('not_found');
    expect(await outcome('legacy-style-key-that-is-unknown')).toBe('not_found');
    expect(await outcome(`${ok.key.slice(0, -1)}${ok.key.endsWith('a') ? 'b' : 'a'}`)).toBe('malformed');
    expect(await outcome('kw_short')).toBe('malformed');
    expect(await outcome(revoked.key)).toBe('revoked');
    expect(await outcome(disabled.key)).toBe('disabled');
    expect(await outcome(ok.key, ['admin'])).toBe('insufficient_scope');
    expect(await outcome(once.key)).toBe('valid');
    expect(await outcome(once.key)).toBe('usage_exceeded');
    expect(await outcome(expiring.key)).toBe('valid');
    clock.advance(3_600_000);
    expect(await outcome(expiring.key)).toBe('expired');
    const check = await manager.check(ok.key);
    expect(check).toMatchObject({ outcome: 'valid', keyId: ok.record.id, principal: { id: ok.record.id } });
    expect(Object.isFrozen(check.principal)).toBe(true);
  });

  it('answers a cached key synchronously, with no store I/O and no write', async () => {
    const { manager, calls } = await setup();
    const { key, record } = await manager.create({ name: 'hot', scopes: ['read'] });
    const verify = manager.verifier();
    const first = verify(key, ctx());
    expect(first).toBeInstanceOf(Promise);
    expect(principal(await first)).toMatchObject({ id: record.id, scopes: ['read'] });
    const guard = createGuard({ schemes: header, verify, scopes: ['read'] });
    const before = { ...calls };
    for (let i = 0; i < 100; i++) {
      expect(principal(verify(key, ctx(['read'])))).toMatchObject({ id: record.id });
      const result = guard.authenticate(from(key));
      expect(result).not.toBeInstanceOf(Promise);
      expect(result).toMatchObject({ ok: true, principal: { id: record.id } });
    }
    expect(calls).toEqual(before);
    expect(calls['findByHash']).toBe(1);
  });

  it('trusts a cached key for cache.ttlMs of monotonic time, then reads it again', async () => {
    // The bound on how long a revoke goes unseen when the change feed is down. It runs on
    // performance.now() (lru-cache), not on the manager's wall clock, which can step back.
    const { manager, store, calls, clock } = await setup({ cache: { ttlMs: 300 } });
    const { key, record } = await manager.create({ name: 'svc' });
    const verify = manager.verifier();
    expect(principal(await verify(key, ctx()))).toMatchObject({ id: record.id });
    // Revoked behind the manager's back, as when the change feed is down: nothing tells it.
    const at = new Date(clock.now());
    await store.update(record.id, { revokedAt: at }, { actor: 'test', at, action: 'revoke' });
    clock.advance(-3_600_000); // a wall clock stepped back changes nothing
    expect(principal(verify(key, ctx()))).toMatchObject({ id: record.id });
    expect(verify.knows?.(key)).toBe(true);
    expect(calls['findByHash']).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(verify.knows?.(key)).toBe(false);
    expect(await verify(key, ctx())).toMatchObject({ code: 'invalid', reason: 'revoked' });
    expect(calls['findByHash']).toBe(2);
  });

  it('rejects a malformed key synchronously without any lookup', async () => {
    const { manager, calls } = await setup();
    const { key } = await manager.create({ name: 'x' });
    const broken = `${key.slice(0, 10)}${key[10] === 'A' ? 'B' : 'A'}${key.slice(11)}`;
    expect(manager.verifier()(broken, ctx())).toMatchObject({ code: 'invalid', reason: 'malformed' });
    expect(calls['findByHash']).toBeUndefined();
  });

  it('looks an unknown well-formed key up once, then remembers it is unknown', async () => {
    const { manager, calls } = await setup();
    const unknown = manager.format.generate();
    const verify = manager.verifier();
    expect(await verify(unknown, ctx())).toMatchObject({ code: 'invalid', reason: 'unknown' });
    for (let i = 0; i < 10; i++)
      expect(verify(unknown, ctx())).toMatchObject({ code: 'invalid', reason: 'unknown' });
    expect(calls['findByHash']).toBe(1);
  });

  it('coalesces concurrent lookups of the same key', async () => {
    const { manager, calls } = await setup();
    const { key } = await manager.create({ name: 'x' });
    const results = await Promise.all(Array.from({ length: 20 }, () => manager.check(key)));
    expect(results.every((r) => r.outcome === 'valid')).toBe(true);
    expect(calls['findByHash']).toBe(1);
  });

  it('pays for a key whose first lookup raced a change elsewhere, reading it once more at most', async () => {
    // Another key is created while this key's first lookup is in flight: the answer is not
    // cached (it may predate the change), and paying must not loop on reading it again.
    const { manager, store, calls } = await setup();
    const { key, record } = await manager.create({ name: 'busy' });
    const read = store.findByHash.bind(store);
    let release!: () => void;
    const stalled = new Promise<void>((r) => {
      release = r;
    });
    store.findByHash = async (hash) => {
      const found = await read(hash);
      await stalled;
      return found;
    };
    const pending = manager.check(key);
    await manager.create({ name: 'other' });
    release();
    expect(await pending).toMatchObject({ outcome: 'valid', keyId: record.id });
    expect(calls['get'] ?? 0).toBeLessThanOrEqual(1);
  });

  it('never lets a request made after a revoke join a lookup that started before it', async () => {
    const { manager, store } = await setup();
    const { key, record } = await manager.create({ name: 'victim' });
    // The first hash lookup reads the store, then stalls (a busy disk, a remote database).
    const read = store.findByHash.bind(store);
    let release!: () => void;
    const stalled = new Promise<void>((r) => {
      release = r;
    });
    let first = true;
    store.findByHash = async (hash) => {
      const record = await read(hash);
      if (first) {
        first = false;
        await stalled;
      }
      return record;
    };
    const verify = manager.verifier();
    const before = verify(key, ctx()) as Promise<unknown>; // a miss: its lookup is in flight
    await new Promise((r) => setTimeout(r, 5));
    await manager.revoke(record.id);
    const after = verify(key, ctx()) as Promise<unknown>; // strictly after the revoke resolved
    release();
    const [, late] = await Promise.all([before, after]);
    expect(late).toMatchObject({ code: 'invalid', reason: 'revoked' });
    expect(await verify(key, ctx())).toMatchObject({ code: 'invalid', reason: 'revoked' });
    expect((await manager.check(key)).outcome).toBe('revoked');
  });

  it('checks the expiry against the clock on every hit', async () => {
    const { manager, clock, calls } = await setup();
    const { key } = await manager.create({ name: 'x', expiresIn: '30s' });
    expect((await manager.check(key)).outcome).toBe('valid');
    clock.advance(29_999);
    expect((await manager.check(key)).outcome).toBe('valid');
    clock.advance(1);
    expect((await manager.check(key)).outcome).toBe('expired');
    expect(calls['findByHash']).toBe(1);
  });

  it('applies changes made on this process at the next request, even to cached keys', async () => {
    const { manager } = await setup();
    const { key, record } = await manager.create({ name: 'x', scopes: ['read'] });
    const verify = manager.verifier();
    await verify(key, ctx());
    await manager.update(record.id, { scopes: ['read', 'admin'] });
    expect(principal(await verify(key, ctx(['admin'])))).toMatchObject({ scopes: ['read', 'admin'] });
    await manager.disable(record.id);
    expect(await verify(key, ctx())).toMatchObject({ code: 'invalid', reason: 'disabled' });
    await manager.enable(record.id);
    expect(principal(await verify(key, ctx()))).toMatchObject({ id: record.id });
    await manager.revoke(record.id);
    expect((await manager.check(key)).outcome).toBe('revoked');
    await manager.enable(record.id);
    expect((await manager.check(key)).outcome).toBe('revoked');
    await manager.delete(record.id);
    expect((await manager.check(key)).outcome).toBe('not_found');
  });

  it('finds a key created after it was remembered as unknown', async () => {
    const { manager } = await setup();
    const legacy = 'legacy-key-0123456789abcdef';
    expect((await manager.check(legacy)).outcome).toBe('not_found');
    await manager.importKeys([{ key: legacy, name: 'old' }]);
    expect((await manager.check(legacy)).outcome).toBe('valid');
  });

  it('gives a key with N uses exactly N successes under concurrency, then answers without I/O', async () => {
    const { manager, calls, store } = await setup();
    const { key, record } = await manager.create({ name: 'n', uses: 5 });
    const guard = createGuard({ schemes: header, verify: manager.verifier() });
    const results = await Promise.all(Array.from({ length: 15 }, () => guard.authenticate(from(key))));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    const refused = results.flatMap((r) => (r.ok ? [] : [r.failure]));
    expect(refused).toHaveLength(10);
    expect(refused.every((f) => f.code === 'usage_exceeded' && f.status === 429)).toBe(true);
    expect(await store.get(record.id)).toMatchObject({ remainingUses: 0, useCount: 5 });
    const consumed = calls['consumeUse'];
    const last = guard.authenticate(from(key));
    expect(last).not.toBeInstanceOf(Promise);
    expect(code(last as AuthResult<unknown>)).toBe('usage_exceeded');
    expect(calls['consumeUse']).toBe(consumed);
    await manager.update(record.id, { uses: 1 });
    expect((await manager.check(key)).outcome).toBe('valid');
  });

  it('checks scopes before taking a use, and a dry run takes none', async () => {
    const { manager, store } = await setup();
    const { key, record } = await manager.create({ name: 'n', uses: 2, scopes: ['read'] });
    const guard = createGuard({ schemes: header, verify: manager.verifier(), scopes: ['admin'] });
    expect(code(await guard.authenticate(from(key)))).toBe('insufficient_scope');
    expect((await manager.check(key, { dryRun: true })).outcome).toBe('valid');
    expect(await store.get(record.id)).toMatchObject({ remainingUses: 2, useCount: 0 });
  });

  it("exposes each key's rate limit on the principal, enforced by the guard's limits", async () => {
    const { manager } = await setup();
    const limited = await manager.create({ name: 'rl', rateLimit: '2/1m' });
    const free = await manager.create({ name: 'free' });
    const guard = createGuard({ schemes: header, verify: manager.verifier(), limits: rateLimits({}) });
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(code(await guard.authenticate(from(limited.key))));
    expect(outcomes).toEqual(['ok', 'ok', 'rate_limited']);
    // The budget is the key's, whatever address it comes from.
    expect(code(await guard.authenticate(from(limited.key, '198.51.100.1')))).toBe('rate_limited');
    const limitedPrincipal = principal(await manager.verifier()(limited.key, ctx())) as KeyPrincipal;
    expect(limitedPrincipal.rateLimit).toEqual({ limit: 2, windowSeconds: 60 });
    expect(Object.isFrozen(limitedPrincipal.rateLimit)).toBe(true);
    // Keys without a limit (and no default) are never limited.
    for (let i = 0; i < 5; i++) expect(code(await guard.authenticate(from(free.key)))).toBe('ok');
  });

  it('knows keys it verified recently, without I/O, so they pass an address blocked for failures', async () => {
    const { manager, calls } = await setup();
    const good = await manager.create({ name: 'good' });
    const fresh = await manager.create({ name: 'fresh' });
    const verify = manager.verifier();
    expect(verify.knows?.(good.key)).toBe(false);
    await verify(good.key, ctx());
    const lookups = calls['findByHash'];
    expect(verify.knows?.(good.key)).toBe(true);
    expect(verify.knows?.(fresh.key)).toBe(false);
    expect(verify.knows?.('not a key')).toBe(false);
    expect(calls['findByHash']).toBe(lookups);
    const guard = createGuard({
      schemes: header,
      verify,
      limits: rateLimits({ failures: { limit: 1, windowSeconds: 60 } }),
    });
    const wrong = manager.format.generate();
    expect(code(await guard.authenticate(from(wrong)))).toBe('invalid');
    expect(code(await guard.authenticate(from(wrong)))).toBe('rate_limited');
    // Blocked: an unverified key is not even checked, a known one still works.
    expect(code(await guard.authenticate(from(fresh.key)))).toBe('rate_limited');
    expect(code(await guard.authenticate(from(good.key)))).toBe('ok');
    await manager.revoke(good.record.id);
    expect(verify.knows?.(good.key)).toBe(false);
  });

  it('records usage in memory and writes it in one batch on flush and close', async () => {
    const { manager, calls, store, clock } = await setup();
    const { key, record } = await manager.create({ name: 'u' });
    for (let i = 0; i < 7; i++) await manager.check(key);
    clock.advance(5000);
    await manager.check(key);
    expect(calls['recordUsage']).toBeUndefined();
    expect((await store.get(record.id))!.useCount).toBe(0);
    await manager.flush();
    expect(calls['recordUsage']).toBe(1);
    expect(await store.get(record.id)).toMatchObject({ useCount: 8, lastUsedAt: new Date(clock.now()) });
    await manager.check(key);
    await manager.close();
    expect(calls['recordUsage']).toBe(2);
  });

  it('keeps the counts of a failed flush and writes them with the next one', async () => {
    const { manager, store } = await setup();
    const { key, record } = await manager.create({ name: 'u' });
    for (let i = 0; i < 3; i++) await manager.check(key);
    const real = store.recordUsage.bind(store);
    store.recordUsage = () => Promise.reject(new Error('locked'));
    await expect(manager.flush()).rejects.toThrow('locked');
    store.recordUsage = real;
    await manager.check(key);
    await manager.flush();
    expect((await store.get(record.id))!.useCount).toBe(4);
  });

  it('treats legacy shapes as malformed when legacy keys are off', async () => {
    const { manager, calls } = await setup({ legacyKeys: false });
    expect((await manager.check('legacy-key-0123456789abcdef')).outcome).toBe('malformed');
    expect(calls['findByHash']).toBeUndefined();
  });

  it('fails closed with a rejection when the store fails on a miss', async () => {
    const { manager, store } = await setup();
    const { key } = await manager.create({ name: 'x' });
    store.findByHash = () => Promise.reject(new Error('disk on fire'));
    await expect(manager.verifier()(key, ctx()) as Promise<unknown>).rejects.toThrow('disk on fire');
  });

  it('refuses a cached revoked, disabled or expired key through the steps a made-up key takes', async () => {
    // A store with an exact membership filter, which records what it was asked.
    class FilteredStore extends MemoryKeyStore {
      readonly tags = new Set<number>();
      readonly asked: number[] = [];
      override async insert(row: NewKeyRow, context: AuditContext): Promise<void> {
        await super.insert(row, context);
        if (row.tag !== undefined) this.tags.add(row.tag);
      }
      mayContain(tag: number): boolean {
        this.asked.push(tag);
        return this.tags.has(tag);
      }
    }
    const filtered = new FilteredStore();
    const { store, calls } = counting(filtered);
    const clock = fakeClock();
    const manager = await KeyManager.open({
      store,
      pepper: PEPPER,
      now: clock.now,
      pollIntervalMs: 0,
      flushIntervalMs: 0,
    });
    open.push(manager);
    const revoked = await manager.create({ name: 'r' });
    await manager.revoke(revoked.record.id);
    const disabled = await manager.create({ name: 'd' });
    await manager.disable(disabled.record.id);
    const expiring = await manager.create({ name: 'e', expiresIn: '1m' });
    // Each is read from the store once and cached; the last one while it is still valid.
    expect((await manager.check(revoked.key)).outcome).toBe('revoked');
    expect((await manager.check(disabled.key)).outcome).toBe('disabled');
    expect((await manager.check(expiring.key)).outcome).toBe('valid');
    clock.advance(60_000);

    /** The store calls one check makes: filter questions (whether the filter held the tag) and reads. */
    const steps = async (key: string, outcome: string) => {
      filtered.asked.length = 0;
      const reads = calls['findByHash'] ?? 0;
      expect((await manager.check(key)).outcome).toBe(outcome);
      return {
        filterHeld: filtered.asked.map((t) => filtered.tags.has(t)),
        reads: (calls['findByHash'] ?? 0) - reads,
      };
    };
    const madeUp = await steps(manager.format.generate(), 'not_found');
    expect(madeUp).toEqual({ filterHeld: [false], reads: 0 });
    for (let i = 0; i < 3; i++) {
      expect(await steps(revoked.key, 'revoked')).toEqual(madeUp);
      expect(await steps(disabled.key, 'disabled')).toEqual(madeUp);
      expect(await steps(expiring.key, 'expired')).toEqual(madeUp);
    }
    expect(manager.verifier()(revoked.key, ctx())).toMatchObject({ code: 'invalid', reason: 'revoked' });
  });

  it('counts cache hits, lookups and refusals without a lookup, for metrics', async () => {
    const { manager } = await setup();
    const { key } = await manager.create({ name: 'x' });
    const verify = manager.verifier();
    await verify(key, ctx()); // a lookup
    verify(key, ctx()); // a hit
    verify(key, ctx()); // a hit
    verify('kw_short', ctx()); // malformed: no lookup
    const unknown = manager.format.generate();
    await verify(unknown, ctx()); // a lookup, then remembered
    verify(unknown, ctx()); // no lookup
    expect(manager.stats()).toEqual({ cacheHits: 2, refusedWithoutLookup: 2, lookups: 2, lookupErrors: 0 });
  });
});
