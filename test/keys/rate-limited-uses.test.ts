// Keys with limited uses behind per-key rate limits: a request refused with 429 spends no use.

import type { KeyManager } from '@keyward/keys';
import {
  AuthFailure,
  type AuthResult,
  apiKeyHeader,
  createGuard,
  type GuardLimits,
  type Verifier,
} from 'keyward';
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
/** An admission step that lets the request through only once released (a slow limiter), counting its calls. */
function heldAdmission() {
  let release: () => void = () => {};
  const gate = new Promise<undefined>((resolve) => {
    release = () => resolve(undefined);
  });
  let calls = 0;
  return {
    admit: () => {
      calls++;
      return gate;
    },
    release: () => release(),
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
    const { key, record } = await manager.create({ name: 'x', uses: 5 });
    const verify = manager.verifier();
    // Cached first, as a busy key is: the pending admission holds the cached snapshot.
    expect(await verify(key, { scheme: header, scopes: [] })).toMatchObject({ id: record.id });
    const admission = heldAdmission();
    const pending = verify(key, { scheme: header, scopes: [], admit: admission.admit });
    await manager.revoke(record.id);
    admission.release();
    expect(await pending).toBeNull();
    expect(admission.count()).toBe(1);
    expect(await store.get(record.id)).toMatchObject({ remainingUses: 4, useCount: 1 });
  });

  it('lets a request through when an unrelated change arrives during its admission', async () => {
    const { manager } = await setup();
    const { key, record } = await manager.create({ name: 'x' });
    const other = await manager.create({ name: 'other' });
    const verify = manager.verifier();
    const admission = heldAdmission();
    const pending = verify(key, { scheme: header, scopes: [], admit: admission.admit });
    await manager.revoke(other.record.id);
    admission.release();
    expect(await pending).toMatchObject({ id: record.id });
    // Decided once more on a fresh read at most, never charged twice.
    expect(admission.count()).toBe(1);
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

describe('the guard admission step (VerifyContext.admit)', () => {
  interface P {
    id: string;
  }
  // Every principal is limited; `allow` decides; each admission is counted.
  function countingLimits(allow: () => boolean) {
    const admitted: string[] = [];
    const limits: GuardLimits<P> = {
      limitsFailures: false,
      address: () => undefined,
      blockedFor: () => 0,
      blocked: (s) => new AuthFailure('rate_limited', s),
      failed: async (_a, f) => f,
      ruleFor: () => ({ limit: 1, windowSeconds: 60 }),
      admit: async (p) => {
        admitted.push(p.id);
        return allow() ? { ratelimit: 'ok' } : new AuthFailure('rate_limited', 30);
      },
    };
    return { limits, admitted };
  }

  it('is offered only when the guard has limits, and admits once when the verifier uses it', async () => {
    const seen: boolean[] = [];
    const verify: Verifier<P> = async (_key, context) => {
      seen.push(context.admit !== undefined);
      const refused = await context.admit?.({ id: 'a' });
      return refused ?? { id: 'a' };
    };
    const { limits, admitted } = countingLimits(() => true);
    const result = await createGuard({ schemes: header, verify, limits }).authenticate(from('k'));
    expect(result).toMatchObject({ ok: true, principal: { id: 'a' }, headers: { ratelimit: 'ok' } });
    expect(admitted).toEqual(['a']);
    expect(code(await createGuard({ schemes: header, verify }).authenticate(from('k')))).toBe('ok');
    expect(seen).toEqual([true, false]);
  });

  it('still admits after verification when the verifier ignores the step', async () => {
    const { limits, admitted } = countingLimits(() => false);
    const guard = createGuard({ schemes: header, verify: () => ({ id: 'b' }), limits });
    expect(code(await guard.authenticate(from('k')))).toBe('rate_limited');
    expect(admitted).toEqual(['b']);
  });

  it('refuses when the admission refused, even if the verifier returns the principal anyway', async () => {
    const { limits, admitted } = countingLimits(() => false);
    const verify: Verifier<P> = async (_key, context) => {
      await context.admit?.({ id: 'c' });
      await context.admit?.({ id: 'c' }); // asked twice: still one admission
      return { id: 'c' };
    };
    const result = await createGuard({ schemes: header, verify, limits }).authenticate(from('k'));
    expect(code(result)).toBe('rate_limited');
    expect(admitted).toEqual(['c']);
  });
});
