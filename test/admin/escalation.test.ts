// What a root key cannot do with the scopes it holds: grant or take over root scopes it
// lacks, replay a verification, or carry its restrictions past the dashboard's sign-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminFixture, startAdmin } from './fixture.js';

describe('admin API: no escalation beyond the caller', () => {
  let admin: AdminFixture;
  let writer: string;
  beforeAll(async () => {
    admin = await startAdmin('sqlite');
    writer = admin.roots['keyward:keys:write']!.key;
  });
  afterAll(() => admin.close());

  it('refuses a new key with root scopes the caller does not hold, and allows ordinary scopes', async () => {
    for (const scopes of [['keyward:*'], ['keyward:audit:read'], ['read', 'keyward:usage:read']]) {
      const res = await admin.call('POST', '/v1/keys', { key: writer, body: { name: 'minted', scopes } });
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ code: 'root_scope_not_held' });
      expect(res.text).not.toMatch(/"key":"kw_/);
    }
    const same = await admin.call('POST', '/v1/keys', {
      key: writer,
      body: { name: 'peer', scopes: ['keyward:keys:write', 'read'] },
    });
    expect(same.status).toBe(201);
    // keyward:* holds every root scope: it may grant any of them.
    const all = await admin.call('POST', '/v1/keys', { body: { name: 'ops2', scopes: ['keyward:*'] } });
    expect(all.status).toBe(201);
  });

  it('refuses to add root scopes to a key, its own included', async () => {
    const own = admin.roots['keyward:keys:write']!.id;
    const res = await admin.call('PATCH', `/v1/keys/${own}`, {
      key: writer,
      body: { scopes: ['keyward:keys:write', 'keyward:*'] },
    });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'root_scope_not_held' });
    expect((await admin.manager.get(own)).scopes).toEqual(['keyward:keys:write']);
  });

  it('refuses to rotate, revoke, disable, delete or update a key holding root scopes the caller lacks', async () => {
    const target = admin.roots.all!;
    const attempts: [string, string, unknown][] = [
      ['POST', `/v1/keys/${target.id}/rotate`, { grace: 0 }],
      ['POST', `/v1/keys/${target.id}/revoke`, undefined],
      ['POST', `/v1/keys/${target.id}/disable`, undefined],
      ['PATCH', `/v1/keys/${target.id}`, { name: 'taken' }],
      ['DELETE', `/v1/keys/${target.id}`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      const res = await admin.call(method, path, { key: writer, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json).toMatchObject({ code: 'root_scope_not_held' });
      expect(res.text).not.toMatch(/"key":"kw_/);
    }
    // The target is untouched and still works.
    const record = await admin.manager.get(target.id);
    expect(record).toMatchObject({ name: 'root all', enabled: true, revokedAt: null });
    expect((await admin.call('GET', '/v1/keys', { key: target.key })).status).toBe(200);
  });

  it('never replays a verification: a key revoked since is refused despite the same Idempotency-Key', async () => {
    const created = await admin.manager.create({ name: 'verified', scopes: ['read'] });
    const headers = { 'idempotency-key': 'verify-once' };
    const first = await admin.call('POST', '/v1/keys/verify', { headers, body: { key: created.key } });
    expect(first.json).toMatchObject({ valid: true, keyId: created.record.id });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    await admin.manager.revoke(created.record.id);
    const again = await admin.call('POST', '/v1/keys/verify', { headers, body: { key: created.key } });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ valid: false, code: 'revoked' });
    expect(again.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('dashboard sign-in: the root key as the guard sees it', () => {
  let admin: AdminFixture;
  beforeAll(async () => {
    admin = await startAdmin('sqlite');
  });
  afterAll(() => admin.close());

  async function signIn(key: string): Promise<{ status: number; cookie: string | undefined }> {
    const res = await fetch(`${admin.url}/dashboard/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: admin.url },
      body: new URLSearchParams({ key }).toString(),
    });
    await res.arrayBuffer();
    return { status: res.status, cookie: res.headers.get('set-cookie')?.split(';')[0] };
  }

  it('refuses a restricted root key, which header requests hold to its restrictions', async () => {
    const restricted = await admin.manager.create({
      name: 'pinned ops',
      scopes: ['keyward:*'],
      routes: ['GET /v1/keys'],
    });
    expect((await signIn(restricted.key)).status).toBe(401);
    const elsewhere = await admin.manager.create({
      name: 'far ops',
      scopes: ['keyward:*'],
      ipAllow: ['203.0.113.0/24'],
    });
    expect((await signIn(elsewhere.key)).status).toBe(401);
    // Through a header, the same key is refused from here: 403 restricted.
    expect((await admin.call('GET', '/v1/keys', { key: elsewhere.key })).status).toBe(403);
  });

  it('ends a session whose key was restricted after it signed in', async () => {
    const created = await admin.manager.create({ name: 'ops later pinned', scopes: ['keyward:*'] });
    const { status, cookie } = await signIn(created.key);
    expect(status).toBe(303);
    const before = await fetch(`${admin.url}/v1/keys`, { headers: { cookie: cookie! } });
    expect(before.status).toBe(200);
    await admin.manager.update(created.record.id, { ipAllow: ['203.0.113.0/24'] });
    const after = await fetch(`${admin.url}/v1/keys`, { headers: { cookie: cookie! } });
    expect(after.status).toBe(401);
  });
});
