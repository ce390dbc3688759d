import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { THENABLES, type ThenableKind } from '../../../../test/conformance/thenables.js';
import { rateLimits } from '../limits/rate-limits.js';
import { AuthFailure, deny, KeywardConfigError, problemJsonFailure } from './failures.js';
import { type AuthResult, createGuard, type Verifier } from './guard.js';
import type { GuardLimits } from './limits.js';
import type { KeySource } from './request.js';
import { apiKeyCookie, apiKeyHeader, apiKeyQuery } from './schemes.js';
import { staticKeys } from './static-keys.js';
import { spendable } from './verdict.js';

const header = apiKeyHeader({ name: 'X-API-Key' });
const cookie = apiKeyCookie({ name: 'X-API-KEY' });
const query = apiKeyQuery({ name: 'x-api-key' });

function req(headers: Record<string, string> = {}, q = '') {
  return { header: (n: string) => headers[n], query: () => q };
}
const sync = <P>(r: AuthResult<P> | Promise<AuthResult<P>>) => {
  expect(r).not.toBeInstanceOf(Promise);
  return r as AuthResult<P>;
};
const failed = (r: AuthResult<unknown>) => (r.ok ? undefined : r.failure.code);

describe('createGuard', () => {
  const guard = createGuard({ schemes: [header, cookie, query], verify: staticKeys(['right-key']) });

  it('accepts a right key in any of the declared places', () => {
    for (const r of [
      req({ 'x-api-key': 'right-key' }),
      req({ cookie: 'X-API-KEY=right-key' }),
      req({}, 'x-api-key=right-key'),
    ]) {
      const result = sync(guard.authenticate(r));
      expect(result.ok && result.principal).toEqual({ id: 'static-1', scopes: [] });
    }
  });

  it('lets the first scheme that carries a key decide: a wrong header is not rescued by a right cookie', () => {
    const r = sync(
      guard.authenticate(req({ 'x-api-key': 'wrong', cookie: 'X-API-KEY=right-key' }, 'x-api-key=right-key')),
    );
    expect(failed(r)).toBe('invalid');
    const ok = sync(guard.authenticate(req({ 'x-api-key': 'right-key', cookie: 'X-API-KEY=wrong' })));
    expect(ok.ok).toBe(true);
    expect(ok.ok && ok.scheme).toBe(header);
  });

  it('answers missing, duplicate and invalid with distinct failures', () => {
    expect(failed(sync(guard.authenticate(req())))).toBe('missing');
    expect(failed(sync(guard.authenticate(req({ 'x-api-key': 'a, b' }))))).toBe('duplicate');
    expect(failed(sync(guard.authenticate(req({ 'x-api-key': 'nope' }))))).toBe('invalid');
  });

  it('rejects over-long keys and keys with non-visible characters before calling the verifier', () => {
    const verify = vi.fn(() => ({ id: 'x' }));
    const g = createGuard({ schemes: header, verify, maxKeyLength: 64 });
    expect(failed(sync(g.authenticate(req({ 'x-api-key': 'k'.repeat(65) }))))).toBe('invalid');
    expect(failed(sync(g.authenticate(req({ 'x-api-key': 'a\u00a0b' }))))).toBe('invalid');
    const q = createGuard({ schemes: query, verify });
    expect(failed(sync(q.authenticate(req({}, 'x-api-key=a%00b'))))).toBe('invalid');
    expect(failed(sync(q.authenticate(req({}, 'x-api-key=%C3%A9t%C3%A9'))))).toBe('invalid');
    expect(verify).not.toHaveBeenCalled();
    expect(sync(g.authenticate(req({ 'x-api-key': 'k'.repeat(64) }))).ok).toBe(true);
  });

  it('calls the verifier exactly for keys of 1..max characters from U+0021 to U+007E', () => {
    const chars = [
      '!',
      '~',
      'a',
      'Z',
      '0',
      '_',
      '\u0000',
      '\n',
      '\u007f',
      '\u0080',
      '\u00a0',
      '\u2028',
      '\ud800',
      'é',
    ];
    const edge = (s: string) =>
      s.startsWith(' ') || s.endsWith(' ') || s.startsWith('\t') || s.endsWith('\t');
    fc.assert(
      fc.property(
        fc
          .array(fc.constantFrom(...chars, ' ', '\t'), { minLength: 1, maxLength: 12 })
          .map((a) => a.join('')),
        (key) => {
          fc.pre(!edge(key));
          const verify = vi.fn(() => ({ id: 'x' }));
          const g = createGuard({ schemes: header, verify, maxKeyLength: 10 });
          const result = sync(g.authenticate(req({ 'x-api-key': key })));
          const visible = [...key].every((c) => c.charCodeAt(0) >= 0x21 && c.charCodeAt(0) <= 0x7e);
          const expected = visible && key.length <= 10;
          expect(verify).toHaveBeenCalledTimes(expected ? 1 : 0);
          expect(result.ok).toBe(expected);
        },
      ),
    );
  });

  it('passes anonymously only when every scheme is optional', () => {
    const optional = createGuard({
      schemes: [apiKeyHeader({ name: 'a', autoError: false }), apiKeyQuery({ name: 'a', autoError: false })],
      verify: () => null,
    });
    expect(optional.optional).toBe(true);
    expect(sync(optional.authenticate(req()))).toEqual({ ok: true, principal: undefined, scheme: undefined });
    // A wrong key is still wrong with autoError false.
    expect(failed(sync(optional.authenticate(req({ a: 'x' }))))).toBe('invalid');
    const mixed = createGuard({
      schemes: [apiKeyHeader({ name: 'a', autoError: false }), query],
      verify: () => null,
    });
    expect(mixed.optional).toBe(false);
    expect(failed(sync(mixed.authenticate(req())))).toBe('missing');
  });

  it('never lets an anonymous request through a guard that requires scopes', () => {
    const optional = createGuard({
      schemes: apiKeyHeader({ name: 'X-API-Key', autoError: false }),
      verify: staticKeys([{ key: 'reader-key', scopes: ['read'] }]),
    });
    const admin = optional.require('admin');
    expect(optional.optional).toBe(true);
    expect(admin.optional).toBe(false);
    expect(failed(sync(admin.authenticate(req())))).toBe('missing');
    expect(failed(sync(admin.authenticate(req({ 'x-api-key': 'reader-key' }))))).toBe('insufficient_scope');
    // Declared twice (optional at app level, scoped at route level): the second still refuses.
    expect(failed(admin.authorize(sync(optional.authenticate(req()))))).toBe('missing');
  });

  it('stays sync with rate limits configured when the principal has no rule and failures are not limited', () => {
    const limits = rateLimits<{ id: string }>({});
    const g = createGuard({ schemes: header, verify: () => ({ id: 'k' }), limits });
    expect(sync(g.authenticate(req({ 'x-api-key': 'k' }))).ok).toBe(true);
  });

  it('fails closed with 503 when the rate limiter itself throws, never a 500 or a pass', async () => {
    const broken = {
      consume: () => Promise.reject(new TypeError('limiter bug')),
    };
    const onError = vi.fn();
    for (const failures of [undefined, { limit: 5, windowSeconds: 60 }]) {
      const g = createGuard({
        schemes: header,
        verify: () => ({ id: 'k', rateLimit: { limit: 5, windowSeconds: 60 } }),
        limits: rateLimits({ limiter: broken, failures }),
        onError,
      });
      const r = await g.authenticate(req({ 'x-api-key': 'k' }));
      expect(failed(r)).toBe('unavailable');
    }
    expect(onError).toHaveBeenCalled();
  });

  it('supports async verifiers and turns a throwing verifier into 503, never a pass', async () => {
    const onError = vi.fn();
    const g = createGuard({ schemes: header, verify: async (k) => (k === 'ok' ? { id: 1 } : null), onError });
    expect(await g.authenticate(req({ 'x-api-key': 'ok' }))).toMatchObject({
      ok: true,
      principal: { id: 1 },
    });
    const boom = createGuard({
      schemes: header,
      verify: () => Promise.reject(new Error('db down')),
      onError,
    });
    expect(failed(await boom.authenticate(req({ 'x-api-key': 'ok' })))).toBe('unavailable');
    const boomSync = createGuard({
      schemes: header,
      verify: () => {
        throw new Error('db down');
      },
      onError,
    });
    const down = sync(boomSync.authenticate(req({ 'x-api-key': 'ok' })));
    expect(failed(down)).toBe('unavailable');
    const response = boomSync.respond(down.ok ? (undefined as never) : down.failure);
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(JSON.parse(response.body)).toEqual({ detail: 'Authentication temporarily unavailable' });
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('lets a verifier deny with a specific reason', () => {
    const g = createGuard({ schemes: header, verify: () => deny('usage_exceeded') });
    const r = sync(g.authenticate(req({ 'x-api-key': 'k' })));
    expect(r.ok ? undefined : r.failure.status).toBe(429);
  });

  it('checks required scopes after verification (403), and require() derives a guard of the same family', () => {
    const verify = staticKeys([
      { key: 'reader', scopes: ['read'] },
      { key: 'admin', scopes: ['read', 'admin'] },
    ]);
    const base = createGuard({ schemes: header, verify });
    const admin = base.require('admin');
    expect(admin.family).toBe(base.family);
    expect(admin.scopes).toEqual(['admin']);
    expect(failed(sync(admin.authenticate(req({ 'x-api-key': 'reader' }))))).toBe('insufficient_scope');
    expect(sync(admin.authenticate(req({ 'x-api-key': 'admin' }))).ok).toBe(true);
    const first = sync(base.authenticate(req({ 'x-api-key': 'reader' })));
    expect(failed(admin.authorize(first))).toBe('insufficient_scope');
  });

  it('fails loudly on bad options', () => {
    expect(() => createGuard({ schemes: [], verify: () => null })).toThrow(KeywardConfigError);
    expect(() =>
      createGuard({
        schemes: [apiKeyHeader({ name: 'a' }), apiKeyHeader({ name: 'b' })],
        verify: () => null,
      }),
    ).toThrow(/schemeName "APIKeyHeader"/);
    expect(() => createGuard({ schemes: header, verify: 'x' as never })).toThrow(KeywardConfigError);
    expect(() => createGuard({ schemes: header, verify: () => null, scopes: ['has space'] })).toThrow(
      /invalid scope/,
    );
    expect(() => createGuard({ schemes: header, verify: () => null, maxKeyLength: 0 })).toThrow(
      /maxKeyLength/,
    );
  });
});

describe('failure responses', () => {
  const guard = createGuard({ schemes: header, verify: () => null });
  const respond = (code: 'missing' | 'invalid' | 'duplicate') => guard.respond(new AuthFailure(code));

  it('answers 401 with the FastAPI body, the APIKey challenge and no-store', () => {
    expect(respond('missing')).toEqual({
      status: 401,
      headers: {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'www-authenticate': 'APIKey',
      },
      body: '{"detail":"Not authenticated"}',
    });
    expect(respond('invalid').body).toBe('{"detail":"Invalid API Key"}');
    expect(respond('duplicate').status).toBe(400);
    expect(respond('duplicate').headers['www-authenticate']).toBeUndefined();
  });

  it('sends Retry-After for rate limits and outages', () => {
    expect(guard.respond(deny('rate_limited', 1.2)).headers['retry-after']).toBe('2');
  });

  it('can be replaced: problem+json, or 403 for legacy clients', () => {
    const problem = createGuard({ schemes: header, verify: () => null, onFailure: problemJsonFailure });
    const r = problem.respond(new AuthFailure('invalid'));
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(r.body)).toMatchObject({ status: 401, title: 'Invalid API Key', code: 'invalid' });
    const legacy = createGuard({
      schemes: header,
      verify: () => null,
      onFailure: (f) => ({
        status: 403,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ detail: f.detail }),
      }),
    });
    expect(legacy.respond(new AuthFailure('missing')).status).toBe(403);
  });
});

describe('what a verifier returns', () => {
  const principal = { id: 'k', scopes: ['read'] };
  const kinds = Object.keys(THENABLES) as ThenableKind[];
  const guardOf = (verify: Verifier<unknown>, extra: { limits?: GuardLimits<unknown> } = {}) => {
    const onError = vi.fn();
    return { onError, guard: createGuard({ schemes: header, verify, onError, ...extra }) };
  };
  const right = req({ 'x-api-key': 'right' });
  const wrong = req({ 'x-api-key': 'wrong' });

  it.each(kinds)('awaits a %s thenable: the right key passes, a wrong one is invalid', async (kind) => {
    const { guard } = guardOf((key) => THENABLES[kind](() => (key === 'right' ? principal : undefined)));
    expect(await guard.authenticate(right)).toMatchObject({ ok: true, principal });
    expect(failed(await guard.authenticate(wrong))).toBe('invalid');
  });

  it.each(kinds)('answers 503 when a %s thenable rejects, never a pass', async (kind) => {
    const { guard, onError } = guardOf(() =>
      THENABLES[kind](() => {
        throw new Error('db down');
      }),
    );
    expect(failed(await guard.authenticate(right))).toBe('unavailable');
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it('answers 503 for thenables that break: a then that throws, a then getter that throws', async () => {
    const throwing = {
      // biome-ignore lint/suspicious/noThenProperty: a broken thenable on purpose.
      then() {
        throw new Error('broken then');
      },
    };
    const getter = Object.defineProperty({}, 'then', {
      get() {
        throw new Error('broken getter');
      },
    });
    for (const value of [throwing, getter]) {
      const { guard, onError } = guardOf(() => value);
      expect(failed(await guard.authenticate(right))).toBe('unavailable');
      expect(onError).toHaveBeenCalledTimes(1);
    }
  });

  it('stays sync for a plain principal: no promise on the fast path', () => {
    const { guard } = guardOf(() => principal);
    expect(sync(guard.authenticate(right))).toMatchObject({ ok: true, principal });
    // An object with a `then` that is not a function is no thenable: it is the principal.
    // biome-ignore lint/suspicious/noThenProperty: a non-callable then on purpose.
    const odd = { id: 'k', then: 'later' };
    expect(sync(guardOf(() => odd).guard.authenticate(right))).toMatchObject({ ok: true, principal: odd });
  });

  it.each([null, undefined, false, '', 0, Number.NaN, 0n])(
    'takes %s for an unknown key (401)',
    async (no) => {
      expect(failed(sync(guardOf(() => no as never).guard.authenticate(right)))).toBe('invalid');
      expect(failed(await guardOf(async () => no as never).guard.authenticate(right))).toBe('invalid');
    },
  );

  const notPrincipals: [string, unknown][] = [
    ['an empty array', []],
    ['an array of rows', [principal]],
    ['true', true],
    ['a non-empty string', 'client-1'],
    ['a number', 1],
    ['-1 (indexOf of a missing key)', -1],
    ['a function', () => principal],
    ['a symbol', Symbol('k')],
    ['an Error returned, not thrown', new Error('no such key')],
  ];

  it.each(notPrincipals)('refuses %s as a principal: 503 and onError, never a pass', async (_name, value) => {
    const sync1 = guardOf(() => value as never);
    expect(failed(sync(sync1.guard.authenticate(right)))).toBe('unavailable');
    const async1 = guardOf(() => THENABLES.knex(() => value));
    expect(failed(await async1.guard.authenticate(right))).toBe('unavailable');
    for (const { onError } of [sync1, async1]) {
      expect(onError).toHaveBeenCalledTimes(1);
      const error = onError.mock.calls[0]![0] as Error;
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/^verify returned an? [a-zA-Z]+; return the principal as an object/);
      expect(error.message).not.toContain('client-1');
    }
  });

  it('applies the same rules with failed attempts limited per address', async () => {
    const limits = rateLimits<unknown>({ failures: { limit: 100, windowSeconds: 60 } });
    // Failure limits need the client's address: the connection's peer here.
    const from = (source: KeySource): KeySource => ({ ...source, peer: () => '192.0.2.1' });
    for (const kind of kinds) {
      const { guard } = guardOf((key) => THENABLES[kind](() => (key === 'right' ? principal : undefined)), {
        limits,
      });
      expect(await guard.authenticate(from(right))).toMatchObject({ ok: true, principal });
      expect(failed(await guard.authenticate(from(wrong)))).toBe('invalid');
    }
    const { guard, onError } = guardOf(() => [], { limits });
    expect(failed(await guard.authenticate(from(right)))).toBe('unavailable');
    expect(onError).toHaveBeenCalledTimes(1);
  });
});

describe('Cache-Control for authenticated responses', () => {
  const verify = staticKeys([{ key: 'right-key', id: 'k' }]);
  const keyed = req({ 'x-api-key': 'right-key' });
  const ccOf = (r: AuthResult<unknown> | Promise<AuthResult<unknown>>) => {
    const result = sync(r);
    return result.ok ? result.cacheControl : 'failed';
  };

  it('asks for no-store by default, the option’s value, or nothing when it is false', () => {
    expect(ccOf(createGuard({ schemes: header, verify }).authenticate(keyed))).toBe('no-store');
    const other = createGuard({ schemes: header, verify, cacheControl: 'private, max-age=5' });
    expect(ccOf(other.authenticate(keyed))).toBe('private, max-age=5');
    // Guards derived with require() keep it.
    expect(ccOf(other.require().authenticate(keyed))).toBe('private, max-age=5');
    expect(ccOf(createGuard({ schemes: header, verify, cacheControl: false }).authenticate(keyed))).toBe(
      undefined,
    );
  });

  it('asks nothing for an anonymous request under optional auth', () => {
    const optional = createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key', autoError: false }), verify });
    expect(ccOf(optional.authenticate(req()))).toBeUndefined();
  });

  it('refuses a value that is not one printable header line', () => {
    for (const bad of ['', ' no-store', 'no-store\r\nx-injected: 1', 'café', true, 0]) {
      expect(() => createGuard({ schemes: header, verify, cacheControl: bad as never }), String(bad)).toThrow(
        KeywardConfigError,
      );
    }
  });

  it('adds no-store to failures from a custom responder that set no Cache-Control', () => {
    const custom = (headers: Record<string, string>) =>
      createGuard({
        schemes: header,
        verify,
        onFailure: (f) => ({ status: 403, headers, body: JSON.stringify({ detail: f.detail }) }),
      }).respond(new AuthFailure('missing')).headers;
    expect(custom({ 'content-type': 'application/json' })).toEqual({
      'content-type': 'application/json',
      'cache-control': 'no-store',
    });
    expect(custom({ 'Cache-Control': 'private' })).toEqual({ 'Cache-Control': 'private' });
  });
});

describe('a verdict that spends (two-phase verification)', () => {
  interface P {
    id: string;
    scopes: string[];
  }
  const key = req({ 'x-api-key': 'k' });
  // Every principal is limited; `allow` decides each admission.
  function limitsAllowing(allow: () => boolean): GuardLimits<P> {
    return {
      limitsFailures: false,
      address: () => undefined,
      blockedFor: () => 0,
      blocked: (s) => new AuthFailure('rate_limited', s),
      failed: async (_a, f) => f,
      ruleFor: () => ({ limit: 1, windowSeconds: 60 }),
      admit: async () => (allow() ? { ratelimit: 'ok' } : new AuthFailure('rate_limited', 30)),
    };
  }
  function counted(spent: () => ReturnType<Parameters<typeof spendable>[1]> = () => undefined) {
    const costs: number[] = [];
    const verdict = spendable<P>({ id: 'a', scopes: ['read'] }, (cost) => {
      costs.push(cost);
      return spent();
    });
    return { verdict, costs };
  }

  it('pays once, with cost 1, after scopes and the rate limit let the request through', async () => {
    const { verdict, costs } = counted();
    const guard = createGuard({ schemes: header, verify: () => verdict, scopes: ['read'] });
    expect(sync(guard.authenticate(key))).toMatchObject({ ok: true, principal: { id: 'a' } });
    const limited = createGuard({
      schemes: header,
      verify: () => verdict,
      limits: limitsAllowing(() => true),
    });
    expect(await limited.authenticate(key)).toMatchObject({ ok: true, headers: { ratelimit: 'ok' } });
    expect(costs).toEqual([1, 1]);
  });

  it('takes nothing from a request refused for its scopes or its rate limit', async () => {
    const { verdict, costs } = counted();
    expect(
      failed(
        sync(createGuard({ schemes: header, verify: () => verdict, scopes: ['admin'] }).authenticate(key)),
      ),
    ).toBe('insufficient_scope');
    const limited = createGuard({
      schemes: header,
      verify: () => verdict,
      limits: limitsAllowing(() => false),
    });
    expect(failed(await limited.authenticate(key))).toBe('rate_limited');
    expect(costs).toEqual([]);
  });

  it('answers what paying answers: a refusal, an awaited promise, or 503 for a throw or a stray value', async () => {
    const onError = vi.fn();
    const guardOf = (spent: () => never) =>
      createGuard({ schemes: header, verify: () => counted(spent).verdict, onError });
    expect(failed(sync(guardOf(() => deny('usage_exceeded') as never).authenticate(key)))).toBe(
      'usage_exceeded',
    );
    expect(await guardOf(() => Promise.resolve(undefined) as never).authenticate(key)).toMatchObject({
      ok: true,
    });
    expect(
      failed(await guardOf(() => Promise.resolve(deny('usage_exceeded')) as never).authenticate(key)),
    ).toBe('usage_exceeded');
    expect(
      failed(
        sync(
          guardOf(() => {
            throw new Error('store down');
          }).authenticate(key),
        ),
      ),
    ).toBe('unavailable');
    expect(failed(await guardOf(() => Promise.reject(new Error('down')) as never).authenticate(key))).toBe(
      'unavailable',
    );
    expect(failed(sync(guardOf(() => 'yes' as never).authenticate(key)))).toBe('unavailable');
    expect(onError).toHaveBeenCalledTimes(3);
  });

  it('refuses a failure made by another copy of keyward, never taking it for a principal', () => {
    // What `deny()` of a second installed keyward returns: not this copy's class, but branded.
    const foreign = Object.assign(Object.create({ [Symbol.for('keyward.failure')]: true }), {
      code: 'invalid',
      status: 401,
      detail: 'Invalid API Key',
    });
    const guard = createGuard({ schemes: header, verify: () => foreign as never });
    expect(sync(guard.authenticate(key))).toMatchObject({ ok: false, failure: { code: 'invalid' } });
  });
});

describe('observing a guard', () => {
  it('tells the observer each result once, with how long it took, and keeps the reason out of the response', async () => {
    const seen: [string, number][] = [];
    const revoked = new AuthFailure('invalid', undefined, undefined, 'revoked');
    const guard = createGuard({
      schemes: header,
      verify: (key) => (key === 'good' ? { id: 'g' } : key === 'old' ? revoked : null),
      observe: (result, elapsed) =>
        seen.push([result.ok ? 'ok' : `${result.failure.code}/${result.failure.reason ?? '-'}`, elapsed]),
    });
    expect(sync(guard.authenticate(req({ 'x-api-key': 'good' })))).toMatchObject({ ok: true });
    const refused = sync(guard.authenticate(req({ 'x-api-key': 'old' })));
    sync(guard.authenticate(req()));
    expect(seen.map(([what]) => what)).toEqual(['ok', 'invalid/revoked', 'missing/-']);
    expect(seen.every(([, ms]) => ms >= 0 && ms < 1000)).toBe(true);
    // The revoked key gets the very response an unknown key gets.
    const unknown = sync(guard.authenticate(req({ 'x-api-key': 'nope' })));
    if (refused.ok || unknown.ok) throw new Error('expected refusals');
    expect(guard.respond(refused.failure)).toBe(guard.respond(unknown.failure));
  });
});
