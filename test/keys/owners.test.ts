// Owners through KeyManager and a guard: shared rate limits and credits, route costs,
// refills on a driven clock, maximum lifetimes and stale keys.

import { type KeyManager, KeyStateError, MemoryKeyStore, OwnerNotFoundError } from '@keyward/keys';
import { type AuthResult, apiKeyHeader, createGuard, memoryRateLimiter, rateLimits } from 'keyward';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryManager } from './fixtures.js';

const DAY = 86_400_000;
const header = apiKeyHeader({ name: 'X-API-Key' });
const from = (key: string) => ({
  header: (n: string) => (n === 'x-api-key' ? key : undefined),
  query: () => '',
  peer: () => '203.0.113.7',
});
const code = (r: AuthResult<unknown>) => (r.ok ? 'ok' : r.failure.code);

/** A memory store that also keeps settings (`readMeta`/`swapMeta`), as the SQL stores do. */
class SettingsStore extends MemoryKeyStore {
  readonly #meta = new Map<string, string>();
  async readMeta(name: string): Promise<string | undefined> {
    return this.#meta.get(name);
  }
  async swapMeta(name: string, expected: string | undefined, value: string): Promise<boolean> {
    if (this.#meta.get(name) !== expected) return false;
    this.#meta.set(name, value);
    return true;
  }
}

let open: KeyManager[] = [];
async function setup(start?: number) {
  const s = await memoryManager({ store: new SettingsStore() });
  if (start !== undefined) s.clock.advance(start - s.clock.now());
  open.push(s.manager);
  const guard = createGuard({
    schemes: header,
    verify: s.manager.verifier(),
    limits: rateLimits({ limiter: memoryRateLimiter() }),
  });
  return { ...s, guard };
}
afterEach(async () => {
  await Promise.all(open.map((m) => m.close()));
  open = [];
});

describe('owners', () => {
  it('are created, listed, shown, updated and deleted, each change audited', async () => {
    const { manager } = await setup();
    const acme = await manager.createOwner({
      name: 'acme',
      rateLimit: '10/1m',
      credits: 5,
      metadata: { tier: 1 },
    });
    expect(acme).toMatchObject({ name: 'acme', rateLimit: { limit: 10, windowSeconds: 60 }, credits: 5 });
    await expect(manager.createOwner({ name: 'acme' })).rejects.toBeInstanceOf(KeyStateError);
    await manager.createOwner({ name: 'beta' });
    expect((await manager.listOwners()).items.map((o) => o.name)).toEqual(['acme', 'beta']);
    expect(await manager.updateOwner('acme', { credits: 9, rateLimit: null })).toMatchObject({
      credits: 9,
      rateLimit: null,
    });
    expect((await manager.getOwner('acme')).credits).toBe(9);
    await expect(manager.getOwner('nobody')).rejects.toBeInstanceOf(OwnerNotFoundError);
    await manager.deleteOwner('beta');
    const actions = (await manager.audit()).map((e) => [e.action, e.changes['owner']]);
    expect(actions).toEqual([
      ['owner_delete', 'beta'],
      ['owner_update', 'acme'],
      ['owner_create', 'beta'],
      ['owner_create', 'acme'],
    ]);
  });

  it('must exist before a key names it; deleting one with keys needs force, which revokes them', async () => {
    const { manager, guard } = await setup();
    await expect(manager.create({ name: 'k', owner: 'ghost' })).rejects.toBeInstanceOf(OwnerNotFoundError);
    expect((await manager.list()).items).toEqual([]);
    await manager.createOwner({ name: 'acme' });
    const { key, record } = await manager.create({ name: 'k', owner: 'acme' });
    await expect(manager.update(record.id, { owner: 'ghost' })).rejects.toBeInstanceOf(OwnerNotFoundError);
    expect(code(await guard.authenticate(from(key)))).toBe('ok');
    await expect(manager.deleteOwner('acme')).rejects.toBeInstanceOf(KeyStateError);
    await manager.deleteOwner('acme', { force: true });
    expect((await manager.get(record.id)).revokedAt).not.toBeNull();
    expect(code(await guard.authenticate(from(key)))).toBe('invalid');
  });

  it("share one rate limit: exactly N requests pass across the owner's keys", async () => {
    const { manager, guard } = await setup();
    await manager.createOwner({ name: 'acme', rateLimit: '10/1m' });
    const a = await manager.create({ name: 'a', owner: 'acme' });
    const b = await manager.create({ name: 'b', owner: 'acme', rateLimit: '100/1m' });
    const other = await manager.create({ name: 'c' });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => guard.authenticate(from(i % 2 ? a.key : b.key))),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    const refused = results.find((r) => !r.ok);
    expect(refused && !refused.ok && refused.failure.code).toBe('rate_limited');
    const passed = results.find((r) => r.ok);
    expect(passed?.ok && passed.headers?.['ratelimit-policy']).toContain('"owner";q=10;w=60');
    expect(code(await guard.authenticate(from(other.key)))).toBe('ok');
  });
});

describe('credits', () => {
  it('pay for routes of mixed cost from the owner, never below zero and never refusing what can be paid', async () => {
    const { manager, guard } = await setup();
    await manager.createOwner({ name: 'acme', credits: 100 });
    const keys = await Promise.all([1, 2, 3].map((i) => manager.create({ name: `k${i}`, owner: 'acme' })));
    const costly = guard.require({ cost: 5 });
    const requests = Array.from({ length: 200 }, (_, i) => ({
      cost: i % 3 === 0 ? 5 : 1,
      key: keys[i % 3]!.key,
    }));
    const results = await Promise.all(
      requests.map((r) => (r.cost === 5 ? costly : guard).authenticate(from(r.key))),
    );
    const paid = requests.filter((_, i) => results[i]!.ok).reduce((sum, r) => sum + r.cost, 0);
    const left = (await manager.getOwner('acme')).credits!;
    expect(paid + left).toBe(100);
    expect(left).toBeGreaterThanOrEqual(0);
    const refused = requests.filter((_, i) => !results[i]!.ok);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.cost).toBeGreaterThan(left);
    for (const r of results.filter((x) => !x.ok)) {
      expect(!r.ok && [r.failure.code, r.failure.status, r.failure.detail]).toEqual([
        'usage_exceeded',
        429,
        'API key usage limit exceeded',
      ]);
    }
    const ok = results.find((r) => r.ok);
    expect(ok?.ok && Number(ok.headers?.['x-credits-remaining'])).toBeGreaterThanOrEqual(0);
  });

  it("of a key (--credits, the same as --uses) pay route costs too, before its owner's", async () => {
    const { manager, guard } = await setup();
    await manager.createOwner({ name: 'acme', credits: 1000 });
    const { key, record } = await manager.create({ name: 'k', owner: 'acme', uses: 7 });
    const costly = guard.require({ cost: 5 });
    const first = await costly.authenticate(from(key));
    expect(first.ok && first.headers?.['x-credits-remaining']).toBe('2');
    expect(code(await costly.authenticate(from(key)))).toBe('usage_exceeded');
    expect(code(await guard.authenticate(from(key)))).toBe('ok');
    expect(code(await guard.authenticate(from(key)))).toBe('ok');
    expect(code(await guard.authenticate(from(key)))).toBe('usage_exceeded');
    expect((await manager.get(record.id)).remainingUses).toBe(0);
    expect((await manager.getOwner('acme')).credits).toBe(1000);
  });

  it('are taken only after scopes and rate limits passed', async () => {
    const { manager, guard } = await setup();
    await manager.createOwner({ name: 'acme', credits: 10, rateLimit: '2/1m' });
    const { key } = await manager.create({ name: 'k', owner: 'acme', scopes: ['read'] });
    expect(code(await guard.require('admin', { cost: 3 }).authenticate(from(key)))).toBe(
      'insufficient_scope',
    );
    expect(code(await guard.require({ cost: 3 }).authenticate(from(key)))).toBe('ok');
    expect(code(await guard.require({ cost: 3 }).authenticate(from(key)))).toBe('ok');
    expect(code(await guard.require({ cost: 3 }).authenticate(from(key)))).toBe('rate_limited');
    expect((await manager.getOwner('acme')).credits).toBe(4);
  });

  it('refill once per period on a driven clock, with Retry-After until the next refill', async () => {
    // 2030-03-30 20:00 Berlin (CET); the next day starts in summer time.
    const { manager, guard, clock } = await setup(Date.parse('2030-03-30T19:00:00Z'));
    await manager.createOwner({ name: 'acme', refill: '3/day', timeZone: 'Europe/Berlin' });
    const { key } = await manager.create({ name: 'k', owner: 'acme' });
    for (let i = 0; i < 3; i++) expect(code(await guard.authenticate(from(key)))).toBe('ok');
    const out = await guard.authenticate(from(key));
    expect(!out.ok && out.failure.code).toBe('usage_exceeded');
    // Midnight in Berlin is 23:00Z: four hours away.
    expect(!out.ok && out.failure.retryAfter).toBe(4 * 3600);
    if (out.ok) throw new Error('expected a refusal');
    expect(guard.respond(out.failure).headers['retry-after']).toBe(String(4 * 3600));
    clock.advance(4 * 3600_000 - 1000);
    expect(code(await guard.authenticate(from(key)))).toBe('usage_exceeded');
    clock.advance(1000);
    expect((await manager.getOwner('acme')).credits).toBe(3);
    const results = await Promise.all(Array.from({ length: 10 }, () => guard.authenticate(from(key))));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    // Days of downtime: one refill, not one per missed day.
    clock.advance(5 * DAY);
    const later = await Promise.all(Array.from({ length: 10 }, () => guard.authenticate(from(key))));
    expect(later.filter((r) => r.ok)).toHaveLength(3);
  });
});

describe('lifecycle policies', () => {
  it('keep keys within the maximum lifetime of the store and of their owner', async () => {
    const { manager, clock } = await setup();
    await manager.setMaxLifetime('90d');
    expect(await manager.maxLifetime()).toBe(90 * DAY);
    const plain = await manager.create({ name: 'p' });
    expect(plain.record.expiresAt).toEqual(new Date(clock.now() + 90 * DAY));
    await expect(manager.create({ name: 'x', expiresIn: '91d' })).rejects.toThrow(/at most 90d/);
    await expect(manager.update(plain.record.id, { expiresAt: null })).rejects.toThrow(/at most 90d/);
    await expect(manager.update(plain.record.id, { expiresIn: '91d' })).rejects.toThrow(/at most 90d/);
    clock.advance(DAY);
    await expect(manager.update(plain.record.id, { expiresIn: '90d' })).rejects.toThrow(/at most 90d/);
    expect((await manager.update(plain.record.id, { expiresIn: '89d' })).expiresAt).toEqual(
      new Date(clock.now() + 89 * DAY),
    );
    await manager.createOwner({ name: 'short', maxLifetime: '7d' });
    const owned = await manager.create({ name: 'o', owner: 'short' });
    expect(owned.record.expiresAt).toEqual(new Date(clock.now() + 7 * DAY));
    await expect(manager.update(plain.record.id, { owner: 'short' })).rejects.toThrow(/at most 7d/);
    await manager.setMaxLifetime(null);
    expect((await manager.create({ name: 'free' })).record.expiresAt).toBeNull();
  });

  it('disable keys unused for a while in one audited step', async () => {
    const { manager, guard, clock } = await setup();
    const idle = await manager.create({ name: 'idle' });
    const busy = await manager.create({ name: 'busy' });
    clock.advance(100 * DAY);
    expect(code(await guard.authenticate(from(busy.key)))).toBe('ok');
    const fresh = await manager.create({ name: 'fresh' });
    const disabled = await manager.disableStale('90d', { actor: 'ops' });
    expect(disabled.map((r) => r.id)).toEqual([idle.record.id]);
    expect(code(await guard.authenticate(from(idle.key)))).toBe('invalid');
    expect(code(await guard.authenticate(from(fresh.key)))).toBe('ok');
    const [entry] = await manager.audit({ limit: 1 });
    expect(entry).toMatchObject({ action: 'disable', actor: 'ops', keyId: idle.record.id });
  });

  it('rotate in place: same id, settings and history; the old secret works through the grace period', async () => {
    const { manager, guard, clock } = await setup();
    await manager.createOwner({ name: 'acme' });
    const old = await manager.create({
      name: 'svc',
      owner: 'acme',
      scopes: ['read'],
      uses: 10,
      rateLimit: '5/1m',
    });
    expect(code(await guard.authenticate(from(old.key)))).toBe('ok');
    const rotated = await manager.rotateInPlace(old.record.id, { grace: '1h' });
    expect(rotated.key).not.toBe(old.key);
    expect(rotated.record).toMatchObject({
      id: old.record.id,
      name: 'svc',
      owner: 'acme',
      scopes: ['read'],
      rateLimit: { limit: 5, windowSeconds: 60 },
      replaces: null,
      replacedBy: null,
    });
    expect(rotated.record.display).not.toBe(old.record.display);
    // Both secrets are the same key: one budget of uses and one rate limit.
    expect(code(await guard.authenticate(from(rotated.key)))).toBe('ok');
    expect(code(await guard.authenticate(from(old.key)))).toBe('ok');
    expect((await manager.get(old.record.id)).remainingUses).toBe(7);
    clock.advance(3_600_000);
    expect(code(await guard.authenticate(from(old.key)))).toBe('invalid');
    expect(code(await guard.authenticate(from(rotated.key)))).toBe('ok');
    // Revoking the key stops every secret it has, cached or not.
    const again = await manager.rotateInPlace(old.record.id, { grace: '1h' });
    expect(code(await guard.authenticate(from(rotated.key)))).toBe('ok');
    expect(code(await guard.authenticate(from(again.key)))).toBe('rate_limited');
    await manager.revoke(old.record.id);
    for (const key of [rotated.key, again.key])
      expect(code(await guard.authenticate(from(key)))).toBe('invalid');
    const [revoke, rotate] = await manager.audit({ keyId: old.record.id, limit: 2 });
    expect([revoke?.action, rotate?.action, rotate?.changes['inPlace']]).toEqual(['revoke', 'rotate', true]);
  });
});
