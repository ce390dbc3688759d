// Keys with limited uses behind per-key rate limits: a request refused with 429 spends no use.

import type { KeyManager } from '@keyward/keys';
import { AuthFailure, type AuthResult, apiKeyHeader, createGuard, type GuardLimits } from 'keyward';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimits } from '../../packages/keyward/src/limits/rate-limits.js';
import { memoryManager } from './fixtures.js';

const header = apiKeyHeader({ name: 'X-API-Key' });
const from = (key: string, peer = '203.0.113.7') => ({
  header: (n: string) => (n === 'x-api-key' ? key : undefined),
  query: () => '',
  peer: () => peer,
});
const code = (r: AuthResult<unknown>) => (r.ok ? 'ok' : r.failure.code);
/**
 * Per-key limits whose admission waits until released (a slow limiter: a Redis round trip),
 * counting its calls. `hold()` makes the next admissions wait and returns their release.
 */
function heldLimits() {
  let gate: Promise<void> = Promise.resolve();
  let calls = 0;
  const limits: GuardLimits<unknown> = {
    limitsFailures: false,
    address: () => undefined,
    blockedFor: () => 0,
    blocked: (s) => new AuthFailure('rate_limited', s),
    failed: async (_a, f) => f,
    ruleFor: () => ({ limit: 10, windowSeconds: 60 }),
    admit: async () => {
      calls++;
      await gate;
      return { ratelimit: 'ok' };
    },
  };
  return {
    limits,
    release: () => {
      gate = Promise.resolve();
    },
    hold: () => {
      let open: () => void = () => {};
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      return () => open();
    },
    count: () => calls,
  };
}

let open: KeyManager[] = [];
async function setup() {
  const s = await memoryManager();
  open.push(s.manager);
  return s;
}
afterEach(async () => {
  await Promise.all(open.map((m) => m.close()));
  open = [];
});

describe('remaining uses behind rate limits', () => {
  for (const failures of [undefined, { limit: 100, windowSeconds: 60 }]) {
    it(`spends no use on a request the per-key limit refuses (failure limit ${failures ? 'on' : 'off'})`, async () => {
      const { manager, store, calls } = await setup();
      const { key, record } = await manager.create({ name: 'x', uses: 5, rateLimit: '1/1m' });
      const guard = createGuard({
        schemes: header,
        verify: manager.verifier(),
        limits: rateLimits({ failures }),
      });
      const results: AuthResult<unknown>[] = [];
      for (let i = 0; i < 5; i++) results.push(await guard.authenticate(from(key)));
      expect(results.map(code)).toEqual([
        'ok',
        'rate_limited',
        'rate_limited',
        'rate_limited',
        'rate_limited',
      ]);
      // The success carries the rate-limit headers, and the guard admitted it once.
      expect(results[0]).toMatchObject({ headers: { ratelimit: expect.stringMatching(/^"key";r=0;/) } });
      await manager.flush();
      expect(await store.get(record.id)).toMatchObject({ remainingUses: 4, useCount: 1 });
      expect(calls['consumeUse']).toBe(1);
    });
  }

  it('serves exactly N requests for N uses when the limit allows them all', async () => {
    const { manager, store } = await setup();
    const { key, record } = await manager.create({ name: 'x', uses: 3, rateLimit: '10/1m' });
    const guard = createGuard({ schemes: header, verify: manager.verifier(), limits: rateLimits({}) });
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(code(await guard.authenticate(from(key))));
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'usage_exceeded', 'usage_exceeded']);
    expect(await store.get(record.id)).toMatchObject({ remainingUses: 0, useCount: 3 });
  });

  it('refuses a key revoked while its admission was pending (a limiter round trip), spending nothing', async () => {
    const { manager, store } = await setup();
    const { key, record } = await manager.create({ name: 'x', uses: 5, rateLimit: '10/1m' });
    const held = heldLimits();
    const guard = createGuard({ schemes: header, verify: manager.verifier(), limits: held.limits });
    // Cached first, as a busy key is: the pending admission holds the cached snapshot.
    held.release();
    expect(code(await guard.authenticate(from(key)))).toBe('ok');
    const gate = held.hold();
    const pending = guard.authenticate(from(key));
    await manager.revoke(record.id);
    gate();
    expect(code(await pending)).toBe('invalid');
    expect(held.count()).toBe(2);
    expect(await store.get(record.id)).toMatchObject({ remainingUses: 4, useCount: 1 });
  });

  it('lets a request through when an unrelated change arrives during its admission', async () => {
    const { manager } = await setup();
    const { key, record } = await manager.create({ name: 'x', rateLimit: '10/1m' });
    const other = await manager.create({ name: 'other' });
    const held = heldLimits();
    const guard = createGuard({ schemes: header, verify: manager.verifier(), limits: held.limits });
    const gate = held.hold();
    const pending = guard.authenticate(from(key));
    await manager.revoke(other.record.id);
    gate();
    expect(await pending).toMatchObject({ ok: true, principal: { id: record.id } });
    // Admitted once, charged once.
    expect(held.count()).toBe(1);
    await manager.flush();
    expect((await manager.get(record.id)).useCount).toBe(1);
  });

  it('records no usage for a refused request of a key with unlimited uses, and stays sync without a rule', async () => {
    const { manager, store } = await setup();
    const limited = await manager.create({ name: 'rl', rateLimit: '1/1m' });
    const free = await manager.create({ name: 'free' });
    const guard = createGuard({ schemes: header, verify: manager.verifier(), limits: rateLimits({}) });
    for (let i = 0; i < 3; i++) await guard.authenticate(from(limited.key));
    await guard.authenticate(from(free.key));
    const hit = guard.authenticate(from(free.key));
    expect(hit).not.toBeInstanceOf(Promise);
    expect(code(hit as AuthResult<unknown>)).toBe('ok');
    await manager.flush();
    expect((await store.get(limited.record.id))!.useCount).toBe(1);
    expect((await store.get(free.record.id))!.useCount).toBe(2);
  });
});
