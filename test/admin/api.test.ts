// The admin API over real HTTP, on SQLite and on PostgreSQL: every route, the authz
// matrix, problem details, idempotency, the audit trail, and that no response but a
// create or a rotate ever carries a plaintext key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, requireService } from '../helpers/services.js';
import { type AdminFixture, expectProblem, SCOPES, type StoreKind, startAdmin } from './fixture.js';

const pgUp = await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432));
const kinds: StoreKind[] = pgUp ? ['sqlite', 'postgres'] : ['sqlite'];

const ANY_ID = 'key_0000000000000000000000';

/** Every route, with the scope it needs and a harmless request. */
const ROUTES: { method: string; path: string; scope: string; body?: unknown }[] = [
  { method: 'POST', path: '/v1/keys', scope: 'keyward:keys:write', body: { name: 'matrix' } },
  { method: 'GET', path: '/v1/keys', scope: 'keyward:keys:read' },
  { method: 'POST', path: '/v1/keys/verify', scope: 'keyward:keys:read', body: { key: 'nope' } },
  { method: 'GET', path: `/v1/keys/${ANY_ID}`, scope: 'keyward:keys:read' },
  { method: 'PATCH', path: `/v1/keys/${ANY_ID}`, scope: 'keyward:keys:write', body: { name: 'x' } },
  { method: 'DELETE', path: `/v1/keys/${ANY_ID}`, scope: 'keyward:keys:write' },
  { method: 'POST', path: `/v1/keys/${ANY_ID}/revoke`, scope: 'keyward:keys:write' },
  { method: 'POST', path: `/v1/keys/${ANY_ID}/disable`, scope: 'keyward:keys:write' },
  { method: 'POST', path: `/v1/keys/${ANY_ID}/enable`, scope: 'keyward:keys:write' },
  { method: 'POST', path: `/v1/keys/${ANY_ID}/rotate`, scope: 'keyward:keys:write', body: {} },
  { method: 'GET', path: '/v1/audit', scope: 'keyward:audit:read' },
  { method: 'GET', path: '/v1/owners', scope: 'keyward:keys:read' },
  { method: 'GET', path: '/v1/usage', scope: 'keyward:usage:read' },
  { method: 'GET', path: '/v1/usage/top', scope: 'keyward:usage:read' },
  { method: 'GET', path: `/v1/keys/${ANY_ID}/usage`, scope: 'keyward:usage:read' },
  { method: 'POST', path: '/v1/owners', scope: 'keyward:keys:write', body: { name: 'matrix-owner' } },
  { method: 'GET', path: '/v1/owners/acme', scope: 'keyward:keys:read' },
  {
    method: 'PATCH',
    path: '/v1/owners/acme',
    scope: 'keyward:keys:write',
    body: { metadata: { tier: 'gold' } },
  },
  { method: 'DELETE', path: '/v1/owners/nobody-here', scope: 'keyward:keys:write' },
];

describe.each(kinds)('admin API on %s', (kind) => {
  let admin: AdminFixture;
  /** Plaintext keys issued through the API, and the response that showed each. */
  const issued: { key: string; path: string }[] = [];
  beforeAll(async () => {
    admin = await startAdmin(kind);
  });
  afterAll(() => admin.close());

  describe('authorization', () => {
    it.each(ROUTES)(
      '$method $path: 401 without a key or with a wrong one, the Bearer challenge',
      async (route) => {
        for (const key of [null, 'kw_wrong_0123456789abcdefghijklmnopqrstu', 'not a key']) {
          const res = await admin.call(route.method, route.path, { key, body: route.body });
          expectProblem(res, 401, key === null ? 'missing' : 'invalid');
          expect(res.headers.get('www-authenticate')).toBe('Bearer, APIKey');
        }
      },
    );

    it.each(ROUTES)(
      '$method $path: 403 for a root key without its scope, through either header',
      async (route) => {
        for (const name of ['none', ...SCOPES.filter((s) => s !== route.scope)]) {
          for (const bearer of [true, false]) {
            const res = await admin.call(route.method, route.path, {
              key: admin.roots[name]!.key,
              bearer,
              body: route.body,
            });
            expectProblem(res, 403, 'insufficient_scope');
            expect(res.headers.get('www-authenticate')).toBeNull();
          }
        }
      },
    );

    it.each(ROUTES)('$method $path: passes with its scope or keyward:*', async (route) => {
      for (const name of [route.scope, 'all']) {
        for (const bearer of [true, false]) {
          const res = await admin.call(route.method, route.path, {
            key: admin.roots[name]!.key,
            bearer,
            body: route.body,
          });
          expect([401, 403]).not.toContain(res.status);
          if (res.json?.key) issued.push({ key: res.json.key, path: route.path });
        }
      }
    });

    it('takes the bearer auth-scheme in any case and refuses Basic as no key', async () => {
      const key = admin.roots.all!.key;
      for (const scheme of ['bearer', 'BEARER']) {
        const res = await admin.call('GET', '/v1/keys?limit=1', {
          key: null,
          headers: { authorization: `${scheme} ${key}` },
        });
        expect(res.status).toBe(200);
      }
      const basic = await admin.call('GET', '/v1/keys', {
        key: null,
        headers: { authorization: `Basic ${key}` },
      });
      expectProblem(basic, 401, 'missing');
    });

    it('refuses a revoked root key at once', async () => {
      const root = await admin.manager.create({ name: 'short-lived root', scopes: ['keyward:*'] });
      expect((await admin.call('GET', '/v1/keys?limit=1', { key: root.key })).status).toBe(200);
      await admin.call('POST', `/v1/keys/${root.record.id}/revoke`);
      expectProblem(await admin.call('GET', '/v1/keys?limit=1', { key: root.key }), 401, 'invalid');
    });
  });

  describe('keys', () => {
    it('creates a key (201, the record and the key once), which then works', async () => {
      const res = await admin.call('POST', '/v1/keys', {
        body: {
          name: 'billing',
          owner: 'acme',
          scopes: ['read', 'write'],
          expiresIn: '30d',
          uses: 100,
          rateLimit: '10/1m',
          metadata: { team: 'b' },
        },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/v1/keys/${res.json.id}`);
      expect(res.json).toMatchObject({
        name: 'billing',
        owner: 'acme',
        scopes: ['read', 'write'],
        remainingUses: 100,
        rateLimit: { limit: 10, windowSeconds: 60 },
        metadata: { team: 'b' },
        status: 'active',
        key: expect.stringMatching(/^kw_/),
      });
      expect(res.json).not.toHaveProperty('hash');
      issued.push({ key: res.json.key, path: '/v1/keys' });
      expect((await admin.manager.check(res.json.key, { dryRun: true })).outcome).toBe('valid');
      const got = await admin.call('GET', `/v1/keys/${res.json.id}`);
      expect(got.status).toBe(200);
      const { key: _key, ...record } = res.json;
      expect(got.json).toEqual(record);
    });

    it('answers bad input with problem details and a stable code, never a 500', async () => {
      expectProblem(await admin.call('POST', '/v1/keys', { body: '{"name":' }), 400, 'invalid_json');
      expectProblem(await admin.call('POST', '/v1/keys', { body: '[1]' }), 400, 'invalid_json');
      expectProblem(await admin.call('POST', '/v1/keys', { body: {} }), 400, 'invalid_input');
      expectProblem(
        await admin.call('POST', '/v1/keys', { body: { name: 'x', bogus: 1 } }),
        400,
        'invalid_input',
      );
      expectProblem(
        await admin.call('POST', '/v1/keys', { body: { name: 'x', scopes: 'a,b' } }),
        400,
        'invalid_input',
      );
      expectProblem(
        await admin.call('POST', '/v1/keys', { body: { name: 'x', uses: -1 } }),
        400,
        'invalid_input',
      );
      expectProblem(
        await admin.call('POST', '/v1/keys', { body: { name: 'x', expiresAt: 'tomorrow' } }),
        400,
        'invalid_input',
      );
      expectProblem(await admin.call('POST', '/v1/keys', { body: { name: 5 } }), 400, 'invalid_input');
      expectProblem(
        await admin.call('POST', '/v1/keys', {
          body: { name: 'x' },
          headers: { 'content-type': 'text/plain' },
        }),
        415,
        'unsupported_media_type',
      );
      expectProblem(
        await admin.call('POST', '/v1/keys', { body: { name: 'x', metadata: { pad: 'x'.repeat(70_000) } } }),
        413,
        'payload_too_large',
      );
      expectProblem(await admin.call('GET', '/v1/keys?limit=0'), 400, 'invalid_input');
      expectProblem(await admin.call('GET', '/v1/keys?limit=5&limit=6'), 400, 'invalid_input');
      expectProblem(await admin.call('GET', '/v1/keys?status=sleeping'), 400, 'invalid_input');
      expectProblem(await admin.call('GET', '/v1/keys?cursor=zzz'), 400, 'invalid_input');
      expectProblem(await admin.call('GET', `/v1/keys/${ANY_ID}`), 404, 'key_not_found');
      expectProblem(await admin.call('GET', '/v1/nothing'), 404, 'not_found');
    });

    it('never repeats a pasted key given where an id goes', async () => {
      const key = admin.roots.none!.key;
      for (const res of [
        await admin.call('GET', `/v1/keys/${key}`),
        await admin.call('POST', `/v1/keys/${key}/revoke`),
        await admin.call('GET', `/v1/audit?key=${key}`),
        await admin.call('POST', '/v1/keys', { body: { name: 'x', [key]: 1 } }),
      ]) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.text).not.toContain(key);
      }
      expect((await admin.manager.get(admin.roots.none!.id)).revokedAt).toBeNull();
    });

    it('lists with filters and keyset cursors', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await admin.call('POST', '/v1/keys', {
          body: { name: `listed ${i}`, owner: 'lister', scopes: i % 2 ? ['odd'] : ['even'] },
        });
        issued.push({ key: res.json.key, path: '/v1/keys' });
        made.push(res.json.id);
      }
      await admin.call('POST', `/v1/keys/${made[4]}/disable`);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await admin.call(
          'GET',
          `/v1/keys?owner=lister&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.status).toBe(200);
        expect(Object.keys(res.json)).toEqual(['items', 'nextCursor']);
        seen.push(...res.json.items.map((k: { id: string }) => k.id));
        cursor = res.json.nextCursor;
      } while (cursor);
      expect(seen).toEqual(made);
      const odd = await admin.call('GET', '/v1/keys?owner=lister&scope=odd');
      expect(odd.json.items.map((k: { id: string }) => k.id)).toEqual([made[1], made[3]]);
      const disabled = await admin.call('GET', '/v1/keys?owner=lister&status=disabled');
      expect(disabled.json.items.map((k: { id: string; status: string }) => [k.id, k.status])).toEqual([
        [made[4], 'disabled'],
      ]);
      const q = await admin.call('GET', '/v1/keys?q=LISTED%203');
      expect(q.json.items.map((k: { id: string }) => k.id)).toEqual([made[3]]);
      const byId = await admin.call('GET', `/v1/keys?q=${made[2]}`);
      expect(byId.json.items.map((k: { id: string }) => k.id)).toEqual([made[2]]);
    });

    it('updates, disables, enables, rotates, revokes and deletes, each audited with the root key as actor', async () => {
      const root = admin.roots['keyward:keys:write']!;
      const call = (method: string, path: string, body?: unknown) =>
        admin.call(method, path, { key: root.key, body });
      const created = await call('POST', '/v1/keys', { name: 'lifecycle', scopes: ['read'] });
      issued.push({ key: created.json.key, path: '/v1/keys' });
      const id = created.json.id as string;
      const patched = await call('PATCH', `/v1/keys/${id}`, {
        name: 'renamed',
        owner: 'acme',
        expiresAt: '2099-01-01T00:00:00Z',
      });
      expect(patched.status).toBe(200);
      expect(patched.json).toMatchObject({
        name: 'renamed',
        owner: 'acme',
        expiresAt: '2099-01-01T00:00:00.000Z',
      });
      expect((await call('POST', `/v1/keys/${id}/disable`)).json).toMatchObject({
        enabled: false,
        status: 'disabled',
      });
      expect((await admin.manager.check(created.json.key, { dryRun: true })).outcome).toBe('disabled');
      expect((await call('POST', `/v1/keys/${id}/enable`)).json).toMatchObject({
        enabled: true,
        status: 'active',
      });
      const rotated = await call('POST', `/v1/keys/${id}/rotate`, { grace: 0 });
      expect(rotated.status).toBe(201);
      expect(rotated.json).toMatchObject({
        replaces: id,
        name: 'renamed',
        key: expect.stringMatching(/^kw_/),
      });
      expect(rotated.json.previous).toMatchObject({ id, status: 'revoked', replacedBy: rotated.json.id });
      issued.push({ key: rotated.json.key, path: `/v1/keys/${id}/rotate` });
      expect((await admin.manager.check(rotated.json.key, { dryRun: true })).outcome).toBe('valid');
      expect((await admin.manager.check(created.json.key, { dryRun: true })).outcome).toBe('revoked');
      expectProblem(await call('POST', `/v1/keys/${id}/rotate`, {}), 409, 'key_state');
      const next = rotated.json.id as string;
      expect((await call('POST', `/v1/keys/${next}/revoke`)).json).toMatchObject({ status: 'revoked' });
      expect((await call('DELETE', `/v1/keys/${next}`)).json).toMatchObject({ id: next });
      expectProblem(await admin.call('GET', `/v1/keys/${next}`), 404, 'key_not_found');

      const audit = await admin.call('GET', `/v1/audit?key=${id}`);
      expect(audit.json.items.map((e: { action: string; actor: string }) => [e.action, e.actor])).toEqual([
        ['rotate', root.id],
        ['enable', root.id],
        ['disable', root.id],
        ['update', root.id],
        ['create', root.id],
      ]);
    });

    it('verifies a key for other languages, counting it like a request', async () => {
      const created = await admin.call('POST', '/v1/keys', {
        body: { name: 'verified', owner: 'acme', scopes: ['read'] },
      });
      issued.push({ key: created.json.key, path: '/v1/keys' });
      const key = created.json.key as string;
      const verify = (body: unknown) => admin.call('POST', '/v1/keys/verify', { body });
      expect((await verify({ key })).json).toEqual({
        valid: true,
        keyId: created.json.id,
        owner: 'acme',
        scopes: ['read'],
        credits: null,
      });
      expect((await verify({ key, scopes: ['read'] })).json.valid).toBe(true);
      expect((await verify({ key, scopes: ['admin'] })).json).toEqual({
        valid: false,
        code: 'insufficient_scope',
      });
      expect((await verify({ key: 'kw_wrong_0123456789abcdefghijklmnopqrstu' })).json).toEqual({
        valid: false,
        code: 'invalid',
      });
      expect((await verify({ key: '' })).json).toEqual({ valid: false, code: 'invalid' });
      expectProblem(await verify({ key: 5 }), 400, 'invalid_input');
      expectProblem(await verify({}), 400, 'invalid_input');
      await admin.manager.flush();
      expect((await admin.manager.get(created.json.id)).useCount).toBe(2);
      await admin.call('POST', `/v1/keys/${created.json.id}/revoke`);
      const revoked = await verify({ key });
      expect(revoked.json).toEqual({ valid: false, code: 'revoked' });
      expect(revoked.text).not.toContain(key);
    });

    it('replays a repeated POST with the same Idempotency-Key, never showing its key again', async () => {
      const headers = { 'idempotency-key': `create-${kind}-1` };
      const body = { name: 'idempotent' };
      const first = await admin.call('POST', '/v1/keys', { body, headers });
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      issued.push({ key: first.json.key, path: '/v1/keys' });
      const again = await admin.call('POST', '/v1/keys', { body, headers });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const { key, ...record } = first.json;
      expect(again.json).toEqual(record);
      expect(again.text).not.toContain(key);
      expect((await admin.call('GET', '/v1/keys?q=idempotent')).json.items).toHaveLength(1);
      expectProblem(
        await admin.call('POST', '/v1/keys', { body: { name: 'other' }, headers }),
        422,
        'idempotency_key_reused',
      );
      // Per root key: another root key with the same header runs its own request.
      const other = await admin.call('POST', '/v1/keys', {
        body,
        headers,
        key: admin.roots['keyward:keys:write']!.key,
      });
      expect(other.status).toBe(201);
      expect(other.headers.get('idempotent-replayed')).toBeNull();
      issued.push({ key: other.json.key, path: '/v1/keys' });
      // Rotation too.
      const rh = { 'idempotency-key': `rotate-${kind}-1` };
      const rotated = await admin.call('POST', `/v1/keys/${first.json.id}/rotate`, { body: {}, headers: rh });
      issued.push({ key: rotated.json.key, path: 'rotate' });
      const replay = await admin.call('POST', `/v1/keys/${first.json.id}/rotate`, { body: {}, headers: rh });
      expect(replay.status).toBe(201);
      expect(replay.json.id).toBe(rotated.json.id);
      expect(replay.json).not.toHaveProperty('key');
      expectProblem(
        await admin.call('POST', '/v1/keys', { body, headers: { 'idempotency-key': 'bad key' } }),
        400,
        'invalid_input',
      );
    });
  });

  describe('usage', () => {
    it('answers the usage of a key, an owner and the deployment, as keyward usage --json does', async () => {
      const created = await admin.call('POST', '/v1/keys', { body: { name: 'used', owner: 'acme' } });
      issued.push({ key: created.json.key, path: '/v1/keys' });
      for (let i = 0; i < 3; i++)
        await admin.call('POST', '/v1/keys/verify', { body: { key: created.json.key } });
      await admin.call('POST', '/v1/keys/verify', { body: { key: created.json.key, scopes: ['nope'] } });
      await admin.manager.flush();
      const own = await admin.call('GET', `/v1/keys/${created.json.id}/usage?since=1h`);
      expect(own.status).toBe(200);
      expect(own.json).toMatchObject({ scope: { key: created.json.id }, granularity: 'minute' });
      expect(own.json.totals).toMatchObject({ valid: 3, insufficient_scope: 1 });
      expect(own.json).toEqual(
        await admin.manager.usage({
          key: created.json.id,
          since: Date.parse(own.json.since),
          until: Date.parse(own.json.until),
        }),
      );
      const viaQuery = await admin.call('GET', `/v1/usage?key=${created.json.id}&since=1h&granularity=hour`);
      expect(viaQuery.json).toMatchObject({ granularity: 'hour', totals: { valid: 3 } });
      const owner = await admin.call('GET', '/v1/usage?owner=acme&since=1h');
      expect(owner.json.totals.valid).toBeGreaterThanOrEqual(3);
      const top = await admin.call('GET', '/v1/usage/top?since=1h&limit=5');
      expect(top.json.items[0]).toHaveProperty('valid');
      expectProblem(await admin.call('GET', '/v1/usage?since=yesterday'), 400, 'invalid_input');
      expectProblem(await admin.call('GET', '/v1/usage?granularity=week'), 400, 'invalid_input');
      expectProblem(
        await admin.call('GET', `/v1/usage?key=${created.json.id}&owner=acme`),
        400,
        'invalid_input',
      );
      expectProblem(await admin.call('GET', `/v1/keys/${ANY_ID}/usage`), 404, 'key_not_found');
    });
  });

  describe('owners', () => {
    it('creates, reads, lists, changes and deletes owners, audited; credits show in verify', async () => {
      const created = await admin.call('POST', '/v1/owners', {
        body: { name: 'globex', credits: 3, rateLimit: '100/1m', metadata: { plan: 'pro' } },
      });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({
        name: 'globex',
        credits: 3,
        rateLimit: { limit: 100, windowSeconds: 60 },
      });
      expectProblem(await admin.call('POST', '/v1/owners', { body: { name: 'globex' } }), 409, 'key_state');
      expectProblem(
        await admin.call('POST', '/v1/owners', { body: { name: 'x', credits: -1 } }),
        400,
        'invalid_input',
      );
      expectProblem(await admin.call('GET', '/v1/owners/nobody-here'), 404, 'owner_not_found');
      expectProblem(
        await admin.call('POST', '/v1/keys', { body: { name: 'orphan', owner: 'nobody-here' } }),
        404,
        'owner_not_found',
      );
      expect((await admin.call('GET', '/v1/owners/globex')).json).toMatchObject({
        name: 'globex',
        credits: 3,
      });
      const names = (await admin.call('GET', '/v1/owners?limit=1000')).json.items.map(
        (o: { name: string }) => o.name,
      );
      expect(names).toEqual(expect.arrayContaining(['acme', 'globex']));
      const patched = await admin.call('PATCH', '/v1/owners/globex', { body: { credits: 2 } });
      expect(patched.json).toMatchObject({ credits: 2, metadata: { plan: 'pro' } });
      // Restrictions, as for keys: checked (400 naming the entry), merged kind by kind, lifted with null.
      expectProblem(
        await admin.call('PATCH', '/v1/owners/globex', { body: { ipAllow: '10.1.2.3/8' } }),
        400,
        'invalid_input',
      );
      const restricted = await admin.call('PATCH', '/v1/owners/globex', {
        body: { ipAllow: ['10.0.0.0/8'], routes: 'get /secure-data' },
      });
      expect(restricted.json.restrictions).toEqual({ ipAllow: ['10.0.0.0/8'], routes: ['GET /secure-data'] });
      const lifted = await admin.call('PATCH', '/v1/owners/globex', { body: { ipAllow: null, routes: [] } });
      expect(lifted.json.restrictions).toBeNull();

      const key = await admin.call('POST', '/v1/keys', { body: { name: 'globex key', owner: 'globex' } });
      issued.push({ key: key.json.key, path: '/v1/keys' });
      const verify = () => admin.call('POST', '/v1/keys/verify', { body: { key: key.json.key } });
      expect((await verify()).json).toMatchObject({ valid: true, owner: 'globex', credits: 1 });
      expect((await verify()).json).toMatchObject({ valid: true, credits: 0 });
      expect((await verify()).json).toEqual({ valid: false, code: 'usage_exceeded' });

      expectProblem(await admin.call('DELETE', '/v1/owners/globex'), 409, 'key_state');
      const deleted = await admin.call('DELETE', '/v1/owners/globex?force=true');
      expect(deleted.json).toMatchObject({ name: 'globex' });
      expect((await admin.call('GET', `/v1/keys/${key.json.id}`)).json.status).toBe('revoked');
      const audit = await admin.call('GET', '/v1/audit?limit=20');
      const actions = audit.json.items.map((e: { action: string; actor: string }) => [e.action, e.actor]);
      expect(actions).toContainEqual(['owner_delete', admin.roots.all!.id]);
      expect(actions).toContainEqual(['owner_create', admin.roots.all!.id]);
    });
  });

  describe('audit', () => {
    it('filters by owner and time and pages with a cursor', async () => {
      const start = new Date().toISOString();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await admin.call('POST', '/v1/keys', {
          body: { name: `audited ${i}`, owner: 'audit-owner' },
        });
        issued.push({ key: res.json.key, path: '/v1/keys' });
        ids.push(res.json.id);
      }
      const page1 = await admin.call('GET', `/v1/audit?owner=audit-owner&since=${start}&limit=2`);
      expect(page1.json.items.map((e: { keyId: string }) => e.keyId)).toEqual([ids[2], ids[1]]);
      const page2 = await admin.call(
        'GET',
        `/v1/audit?owner=audit-owner&limit=2&cursor=${page1.json.nextCursor}`,
      );
      expect(page2.json.items.map((e: { keyId: string }) => e.keyId)).toEqual([ids[0]]);
      expect(page2.json.nextCursor).toBeNull();
      const future = await admin.call('GET', '/v1/audit?since=2999-01-01');
      expect(future.json).toEqual({ items: [], nextCursor: null });
      expectProblem(await admin.call('GET', '/v1/audit?since=yesterday'), 400, 'invalid_input');
      expectProblem(await admin.call('GET', '/v1/audit?cursor=-1'), 400, 'invalid_input');
    });
  });

  describe('documentation', () => {
    it('serves OpenAPI 3.1 with the bearer and header schemes, and Swagger UI', async () => {
      const doc = await admin.call('GET', '/v1/openapi.json', { key: null });
      expect(doc.status).toBe(200);
      expect(doc.json.openapi).toBe('3.1.0');
      expect(doc.json.components.securitySchemes).toEqual({
        HTTPBearer: { type: 'http', scheme: 'bearer', description: expect.any(String) },
        APIKeyHeader: { type: 'apiKey', name: 'X-API-Key', in: 'header', description: expect.any(String) },
      });
      expect(doc.json.paths['/v1/keys'].get.security).toEqual([
        { HTTPBearer: ['keyward:keys:read'] },
        { APIKeyHeader: ['keyward:keys:read'] },
      ]);
      for (const route of ROUTES) {
        const path = route.path.replace(ANY_ID, '{id}').replace(/\/v1\/owners\/[\w-]+$/, '/v1/owners/{name}');
        if (route.path.startsWith('/v1/usage')) expect(doc.json.paths[route.path]).toBeDefined();
        expect(doc.json.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path}`).toBeDefined();
      }
      const page = await admin.call('GET', '/v1/docs', { key: null });
      expect(page.status).toBe(200);
      expect(page.text).toContain('swagger');
    });
  });

  describe('plaintext keys', () => {
    it('appear in no response but the create or rotate that issued them', async () => {
      expect(issued.length).toBeGreaterThan(10);
      const roots = Object.values(admin.roots).map((r) => r.key);
      for (const { key } of issued) {
        const showing = admin.recorded.filter((r) => r.text.includes(key));
        expect(showing).toHaveLength(1);
        expect(showing[0]!.method).toBe('POST');
        expect(showing[0]!.path).toMatch(/^\/v1\/keys(\/key_\w+\/rotate)?$/);
        expect([200, 201]).toContain(showing[0]!.status);
      }
      for (const key of roots) for (const r of admin.recorded) expect(r.text).not.toContain(key);
    });
  });
});
