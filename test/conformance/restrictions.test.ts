import { compileRestrictions, type Restrictions } from 'keyward';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceApps } from './apps.js';
import type { ConformanceServer, TestPrincipal } from './fixture.js';
import { one, send, type WireResponse } from './wire.js';

// Restricted keys, run unchanged against every adapter's app: each adapter hands the
// guard the client address, Origin/Referer, method and path, and every refusal is the
// same 403, before scopes and before the body is read.

const RESTRICTED = JSON.stringify({ detail: 'API key not allowed here' });

const principals = new Map<string, TestPrincipal & { restrictions?: unknown }>();
function restrictedKey(name: string, restrictions: Restrictions, scopes = ['read', 'admin']): string {
  const key = `kw_${name}_${'x'.repeat(38 - name.length)}`;
  principals.set(key, { id: name, scopes, restrictions: compileRestrictions(restrictions, { keyId: name }) });
  return key;
}

const LOOPBACK = restrictedKey('loopback', { ipAllow: ['127.0.0.0/8', '::1'] });
const ELSEWHERE = restrictedKey('elsewhere', { ipAllow: ['203.0.113.0/24', '2001:db8::/32'] });
const BROWSER = restrictedKey('browser', { originAllow: ['https://app.example.com'] });
const READER = restrictedKey('reader', { routes: ['GET /secure-data', 'POST /echo'] });
const GET_ONLY = restrictedKey('getonly', { routes: ['GET /*'] });
const BY_OPERATION = restrictedKey('byoperation', { routes: ['get_admin_data'] });
// Adapters that know the operation of the route a guard runs on.
const KNOW_OPERATIONS = new Set(['hono', 'hono-protect', 'express', 'fastify']);

function expectRestricted(res: WireResponse): void {
  expect({ status: res.status, body: res.body }).toEqual({ status: 403, body: RESTRICTED });
  expect(one(res, 'content-type')).toBe('application/json');
  expect(one(res, 'cache-control')).toBe('no-store');
  expect(res.headers['www-authenticate']).toBeUndefined();
}

describe.each(conformanceApps)('restricted keys: $name', (app) => {
  let server: ConformanceServer;
  beforeAll(async () => {
    server = await app.start({ verify: (key) => principals.get(key) ?? null });
  });
  afterAll(() => server.close());

  const get = (target: string, lines: readonly string[] = []) => send(server.url, 'GET', target, lines);
  const post = (target: string, lines: readonly string[], body: string) =>
    send(server.url, 'POST', target, lines, body);
  const bodyReads = async () => JSON.parse((await get('/stats')).body).bodyReads as number;

  it('lets a key in from its addresses only (the peer: these requests come from loopback)', async () => {
    expectRestricted(await get('/secure-data', [`X-API-Key: ${ELSEWHERE}`]));
    // X-Forwarded-For is not believed without trusted proxies.
    expectRestricted(await get('/secure-data', [`X-API-Key: ${ELSEWHERE}`, 'X-Forwarded-For: 203.0.113.9']));
    const res = await get('/secure-data', [`X-API-Key: ${LOOPBACK}`]);
    // A fetch handler has no peer address: an address restriction then fails closed.
    if (app.name === 'fetch') expectRestricted(res);
    else expect(res.status).toBe(200);
  });

  it('checks Origin, then the Referer, and refuses a request with neither', async () => {
    expect(
      (await get('/secure-data', [`X-API-Key: ${BROWSER}`, 'Origin: https://app.example.com'])).status,
    ).toBe(200);
    expect(
      (await get('/secure-data', [`X-API-Key: ${BROWSER}`, 'Referer: https://app.example.com/page?q=1']))
        .status,
    ).toBe(200);
    expectRestricted(await get('/secure-data', [`X-API-Key: ${BROWSER}`, 'Origin: https://evil.example']));
    expectRestricted(
      await get('/secure-data', [
        `X-API-Key: ${BROWSER}`,
        'Origin: https://evil.example',
        'Referer: https://app.example.com/',
      ]),
    );
    expectRestricted(await get('/secure-data', [`X-API-Key: ${BROWSER}`]));
  });

  it('allows the listed routes only, refusing others before scopes and before the body', async () => {
    expect((await get('/secure-data?x=1', [`X-API-Key: ${READER}`])).status).toBe(200);
    // The key holds the admin scope; the route is not in its list.
    expectRestricted(await get('/admin-data', [`X-API-Key: ${READER}`]));
    const before = await bodyReads();
    const json = ['Content-Type: application/json'];
    expect((await post('/echo', [...json, `X-API-Key: ${READER}`], '{"a":1}')).status).toBe(200);
    expectRestricted(await post('/echo', [...json, `X-API-Key: ${GET_ONLY}`], '{"a":1}'));
    expect(await bodyReads()).toBe(before + 1);
    expect((await get('/admin-data', [`X-API-Key: ${GET_ONLY}`])).status).toBe(200);
  });

  it('allows an operation id where the adapter knows the route, and refuses it elsewhere', async () => {
    const res = await get('/admin-data', [`X-API-Key: ${BY_OPERATION}`]);
    if (KNOW_OPERATIONS.has(app.name)) expect(res.status).toBe(200);
    else expectRestricted(res);
    expectRestricted(await get('/secure-data', [`X-API-Key: ${BY_OPERATION}`]));
  });

  it('answers unrestricted keys as before', async () => {
    principals.set('kw_plain_key_0123456789abcdefghijklmnopqrstu', { id: 'plain', scopes: ['read'] });
    expect(
      (await get('/secure-data', ['X-API-Key: kw_plain_key_0123456789abcdefghijklmnopqrstu'])).status,
    ).toBe(200);
  });
});
