import { describe, expect, it } from 'vitest';
import { rateLimits } from '../limits/rate-limits.js';
import { deny } from './failures.js';
import { type AuthResult, createGuard } from './guard.js';
import { apiKeyHeader } from './schemes.js';
import { spendable } from './verdict.js';

const header = apiKeyHeader({ name: 'X-API-Key' });
const req = (key: string) => ({
  header: (n: string) => (n === 'x-api-key' ? key : undefined),
  query: () => '',
});
const principal = Object.freeze({
  id: 'key_1',
  scopes: ['read'],
  rateLimit: { limit: 1, windowSeconds: 60 },
});

describe('a refusal of a verified key names its principal (for observers)', () => {
  it('for a missing scope, the rate limit and a spend refused; never for an unknown key', async () => {
    const seen: AuthResult<typeof principal>[] = [];
    const guard = createGuard({
      schemes: header,
      verify: (key) =>
        key === 'good'
          ? principal
          : key === 'spent'
            ? spendable(principal, () => deny('usage_exceeded'))
            : null,
      limits: rateLimits(),
      observe: (result) => seen.push(result),
    });
    await guard.require('admin').authenticate(req('good'));
    await guard.authenticate(req('good'));
    await guard.authenticate(req('good'));
    await guard.authenticate(req('unknown'));
    expect(seen.map((r) => (r.ok ? 'ok' : r.failure.code))).toEqual([
      'insufficient_scope',
      'ok',
      'rate_limited',
      'invalid',
    ]);
    expect(seen.map((r) => r.principal)).toEqual([principal, principal, principal, undefined]);

    const spentGuard = createGuard({
      schemes: header,
      verify: (key) => (key === 'spent' ? spendable(principal, () => deny('usage_exceeded')) : null),
    });
    const spent = await spentGuard.authenticate(req('spent'));
    expect(spent.ok).toBe(false);
    expect(!spent.ok && spent.failure.code).toBe('usage_exceeded');
    expect(spent.principal).toBe(principal);
  });
});

describe('observers and the clock', () => {
  it('times an observer that takes the time, and saves the clock reads for one that does not', async () => {
    const times: number[] = [];
    const timed = createGuard({
      schemes: header,
      verify: () => principal,
      observe: (_r, ms) => times.push(ms),
    });
    const seen: unknown[] = [];
    const untimed = createGuard({
      schemes: header,
      verify: () => Promise.resolve(principal),
      observe: (...args: unknown[]) => seen.push(args.length),
    });
    const one: unknown[] = [];
    // One parameter declared (a default does not count): not timed, told NaN.
    const single = createGuard({
      schemes: header,
      verify: () => principal,
      observe: (_r, ms = -1) => one.push(ms),
    });
    await timed.authenticate(req('good'));
    await untimed.authenticate(req('good'));
    await single.authenticate(req('good'));
    expect(times).toHaveLength(1);
    expect(times[0]).toBeGreaterThanOrEqual(0);
    expect(seen).toEqual([2]);
    expect(one).toHaveLength(1);
    expect(one[0]).toBeNaN();
  });
});
