// The demo app verifying against the store, over real HTTP.
import { join } from 'node:path';
import { KeyManager } from '@keyward/keys';
import { SqliteKeyStore } from '@keyward/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoApp } from '../../packages/server/src/serve/app.js';
import { listen, type RunningServer } from '../../packages/server/src/serve/serve.js';
import { fakeClock } from './fixtures.js';
import { PEPPER, tempDir } from './temp.js';

const dir = tempDir();
const clock = fakeClock(Date.now());
let manager: KeyManager;
let server: RunningServer;

beforeAll(async () => {
  const store = await SqliteKeyStore.open(join(dir, 'http.db'));
  manager = await KeyManager.open({ store, pepper: PEPPER, now: clock.now, pollIntervalMs: 0 });
  server = await listen(createDemoApp({ verify: manager.verifier() }), 0, '127.0.0.1');
});
afterAll(async () => {
  await server?.close();
  await manager?.close();
});

const get = (path: string, key: string) => fetch(server.url + path, { headers: { 'X-API-Key': key } });

describe('demo app with stored keys', () => {
  it('lets a valid key in through header, cookie and query', async () => {
    const { key } = await manager.create({ name: 'ok' });
    expect((await get('/secure-data', key)).status).toBe(200);
    expect(
      (await fetch(`${server.url}/secure-data`, { headers: { cookie: `X-API-KEY=${key}` } })).status,
    ).toBe(200);
    expect((await fetch(`${server.url}/secure-data?x-api-key=${key}`)).status).toBe(200);
  });

  it('answers every unusable key with the same 401, whatever the reason', async () => {
    const revoked = await manager.create({ name: 'r' });
    const disabled = await manager.create({ name: 'd' });
    const expired = await manager.create({ name: 'e', expiresIn: '1m' });
    await manager.revoke(revoked.record.id);
    await manager.disable(disabled.record.id);
    expect((await get('/secure-data', expired.key)).status).toBe(200);
    clock.advance(60_000);
    const keys = [
      revoked.key,
      disabled.key,
      expired.key,
      manager.format.generate(),
      'kw_malformed',
      'legacy-unknown-0123456789',
    ];
    const answers = await Promise.all(
      keys.map(async (k) => {
        const res = await get('/secure-data', k);
        return { status: res.status, auth: res.headers.get('www-authenticate'), body: await res.text() };
      }),
    );
    for (const a of answers) {
      expect(a).toEqual({ status: 401, auth: 'APIKey', body: '{"detail":"Invalid API Key"}' });
    }
  });

  it('answers 403 on /admin-data for a valid key without scope admin', async () => {
    const reader = await manager.create({ name: 'reader', scopes: ['read'] });
    const admin = await manager.create({ name: 'admin', scopes: ['admin'] });
    const denied = await get('/admin-data', reader.key);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ detail: 'Insufficient scope' });
    expect((await get('/secure-data', reader.key)).status).toBe(200);
    expect(await (await get('/admin-data', admin.key)).json()).toEqual({
      message: 'You have access to admin data',
    });
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    expect(doc.paths['/admin-data'].get.security).toContainEqual({ APIKeyHeader: ['admin'] });
  });

  it('serves a key with 5 uses exactly 5 times under 20 concurrent requests, then 429', async () => {
    const { key, record } = await manager.create({ name: 'five', uses: 5 });
    const responses = await Promise.all(Array.from({ length: 20 }, () => get('/secure-data', key)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect(await responses.find((r) => r.status === 429)!.json()).toEqual({
      detail: 'API key usage limit exceeded',
    });
    expect(await manager.get(record.id)).toMatchObject({ remainingUses: 0, useCount: 5 });
  });
});
