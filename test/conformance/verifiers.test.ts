import type { Verifier } from 'keyward';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceApps } from './apps.js';
import { type ConformanceServer, defaultVerify, KEYS, type TestPrincipal } from './fixture.js';
import { THENABLES, type ThenableKind } from './thenables.js';
import { one, send, type WireResponse } from './wire.js';

// What a verifier returns, through every adapter: thenables that are not native Promises
// are awaited (ORM query builders, promises of another realm), only objects are
// principals, and every other answer fails closed.

const KINDS = Object.keys(THENABLES) as ThenableKind[];
const SECURE = { message: 'You have access to secure data', principal: 'good' };
const WRONG = 'kw_wrong_0123456789abcdefghijklmnopqrstu';

/** Values that mean an unknown key (401). */
const NO: Record<string, unknown> = { null: null, false: false, empty: '', zero: 0, nan: Number.NaN };
/** Truthy values that are no principal (503, never a pass). */
const NOT_PRINCIPALS: Record<string, unknown> = {
  'empty-array': [],
  rows: [{ id: 'good', scopes: ['read'] }],
  true: true,
  id: 'good',
  one: 1,
  'minus-one': -1,
};

/**
 * The verifier reads its behaviour from the key, `<kind>.<key>`: one server per adapter
 * covers every case. `knex.<key>` answers the default verifier's outcome through a
 * knex-like thenable; `knex-value.<name>` resolves to one of the values above.
 */
function verifyByKind(): Verifier<TestPrincipal> {
  // The default verifier (static keys) is sync.
  const inner = defaultVerify() as (key: string, context: unknown) => TestPrincipal | undefined;
  return (presented, context) => {
    const dot = presented.indexOf('.');
    const kind = presented.slice(0, dot);
    const rest = presented.slice(dot + 1);
    if (kind in THENABLES) return THENABLES[kind as ThenableKind](() => inner(rest, context) ?? null);
    if (kind === 'reject') {
      return THENABLES.knex(() => {
        throw new Error('db down');
      });
    }
    const value = rest in NO ? NO[rest] : NOT_PRINCIPALS[rest];
    if (kind === 'value') return value as never;
    if (kind === 'knex-value') return THENABLES.knex(() => value as never);
    throw new Error(`unknown test kind ${kind}`);
  };
}

function expectJson(res: WireResponse, status: number, body: unknown): void {
  expect({ status: res.status, body: JSON.parse(res.body) }).toEqual({ status, body });
  expect(one(res, 'content-type')).toMatch(/^application\/json\b/);
}

describe.each(conformanceApps)('what a verifier returns: $name', (app) => {
  let server: ConformanceServer;
  beforeAll(async () => {
    server = await app.start({ verify: verifyByKind() });
  });
  afterAll(() => server.close());

  const get = (target: string, key?: string) =>
    send(server.url, 'GET', target, key === undefined ? [] : [`X-API-Key: ${key}`]);

  describe.each(KINDS)('a %s thenable', (kind) => {
    it('is awaited: a valid key passes, a wrong key is invalid', async () => {
      expectJson(await get('/secure-data', `${kind}.${KEYS.good}`), 200, SECURE);
      expectJson(await get('/secure-data', `${kind}.${WRONG}`), 401, { detail: 'Invalid API Key' });
      expectJson(await get(`/secure-data?x-api-key=${kind}.${WRONG}`), 401, { detail: 'Invalid API Key' });
    });

    it('resolves before scopes are checked and for optional auth', async () => {
      expectJson(await get('/admin-data', `${kind}.${KEYS.good}`), 403, { detail: 'Insufficient scope' });
      expectJson(await get('/admin-data', `${kind}.${KEYS.admin}`), 200, {
        message: 'You have access to admin data',
      });
      expectJson(await get('/optional', `${kind}.${WRONG}`), 401, { detail: 'Invalid API Key' });
      expectJson(await get('/optional', `${kind}.${KEYS.good}`), 200, { principal: 'good' });
    });

    it('never lets a wrong key reach the body parser', async () => {
      const reads = async () => JSON.parse((await send(server.url, 'GET', '/stats')).body).bodyReads;
      const before = await reads();
      const res = await send(server.url, 'POST', '/echo', [`X-API-Key: ${kind}.${WRONG}`], '{}');
      expect(res.status).toBe(401);
      expect(await reads()).toBe(before);
    });
  });

  it('answers a rejecting thenable with 503', async () => {
    const res = await get('/secure-data', `reject.${KEYS.good}`);
    expectJson(res, 503, { detail: 'Authentication temporarily unavailable' });
    expect(res.body).not.toContain('db down');
  });

  it.each(Object.keys(NO))('takes %s for an unknown key: 401', async (name) => {
    for (const kind of ['value', 'knex-value']) {
      expectJson(await get('/secure-data', `${kind}.${name}`), 401, { detail: 'Invalid API Key' });
    }
  });

  it.each(Object.keys(NOT_PRINCIPALS))('refuses %s as a principal: 503, never a pass', async (name) => {
    for (const kind of ['value', 'knex-value']) {
      const res = await get('/secure-data', `${kind}.${name}`);
      expectJson(res, 503, { detail: 'Authentication temporarily unavailable' });
    }
  });
});
