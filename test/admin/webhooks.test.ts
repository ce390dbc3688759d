// Webhooks on the admin API over real HTTP, on SQLite and on PostgreSQL: the authz matrix,
// registration with the receiver address checks, the list with delivery state, removal, a
// signed test event to a real local receiver, and that the signing secret appears in the
// create response only (never in the list, a replay, or anything else).
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminApp, listen } from '@keyward/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, requireService } from '../helpers/services.js';
import { type AdminFixture, expectProblem, SCOPES, type StoreKind, startAdmin } from './fixture.js';

const pgUp = await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432));
const kinds: StoreKind[] = pgUp ? ['sqlite', 'postgres'] : ['sqlite'];

const ANY_ID = 'wh_0000000000000000';
const SCOPE = 'keyward:webhooks:write';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A local receiver that records what it is sent and answers `status`. */
async function startReceiver() {
  const received: Received[] = [];
  let status = 204;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answer: (s: number) => {
      status = s;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** The Standard Webhooks signature, computed here independently of keyward's code. */
function expectedSignature(secret: string, r: Received): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = createHmac('sha256', key)
    .update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`)
    .digest('base64');
  return `v1,${mac}`;
}

describe.each(kinds)('admin API webhooks on %s', (kind) => {
  let admin: AdminFixture;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  /** Secrets issued, with the one response path that showed each. */
  const secrets: string[] = [];

  beforeAll(async () => {
    admin = await startAdmin(kind, undefined, { allowPrivateWebhooks: true });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await admin.close();
    await receiver.close();
  });

  const ROUTES = () => [
    { method: 'POST', path: '/v1/webhooks', body: { url: receiver.url, events: ['key.revoked'] } },
    { method: 'GET', path: '/v1/webhooks' },
    { method: 'DELETE', path: `/v1/webhooks/${ANY_ID}` },
    { method: 'POST', path: `/v1/webhooks/${ANY_ID}/test` },
  ];

  it('refuses every route without a root key (401) or without keyward:webhooks:write (403)', async () => {
    for (const route of ROUTES()) {
      for (const key of [null, 'kw_wrong_0123456789abcdefghijklmnopqrstu']) {
        const res = await admin.call(route.method, route.path, { key, body: route.body });
        expectProblem(res, 401, key === null ? 'missing' : 'invalid');
        expect(res.headers.get('www-authenticate')).toBe('Bearer, APIKey');
      }
      for (const name of ['none', ...SCOPES.filter((s) => s !== SCOPE)]) {
        for (const bearer of [true, false]) {
          const res = await admin.call(route.method, route.path, {
            key: admin.roots[name]!.key,
            bearer,
            body: route.body,
          });
          expectProblem(res, 403, 'insufficient_scope');
        }
      }
    }
    // Nothing was registered by the refused requests.
    expect((await admin.call('GET', '/v1/webhooks')).json.items).toEqual([]);
  });

  it('lets keyward:webhooks:write and keyward:* through, by either header', async () => {
    for (const name of [SCOPE, 'all']) {
      for (const bearer of [true, false]) {
        for (const route of ROUTES()) {
          const res = await admin.call(route.method, route.path, {
            key: admin.roots[name]!.key,
            bearer,
            body: route.body,
          });
          expect([401, 403]).not.toContain(res.status);
          if (route.method === 'POST' && route.path === '/v1/webhooks') {
            expect(res.status).toBe(201);
            secrets.push(res.json.secret);
            expect(res.json.createdBy).toBe(admin.roots[name]!.id);
          } else if (route.method === 'GET') {
            expect(res.status).toBe(200);
          } else {
            expectProblem(res, 404, 'webhook_not_found');
          }
        }
      }
    }
    expect((await admin.call('GET', '/v1/webhooks')).json.items).toHaveLength(4);
  });

  it('registers a receiver (201, the secret once), lists it with its deliveries, tests and removes it', async () => {
    const created = await admin.call('POST', '/v1/webhooks', {
      body: { url: receiver.url, events: ['key.created', 'key.revoked', 'key.revoked'] },
    });
    expect(created.status).toBe(201);
    const hook = created.json;
    secrets.push(hook.secret);
    expect(hook.id).toMatch(/^wh_[0-9a-f]{16}$/);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(hook).toMatchObject({ url: receiver.url, events: ['key.created', 'key.revoked'] });
    expect(created.headers.get('location')).toBe(`/v1/webhooks/${hook.id}`);

    const listed = (await admin.call('GET', '/v1/webhooks')).json.items.find(
      (e: { id: string }) => e.id === hook.id,
    );
    expect(listed).toEqual({
      id: hook.id,
      url: receiver.url,
      events: ['key.created', 'key.revoked'],
      createdAt: hook.createdAt,
      createdBy: admin.roots.all!.id,
      delivered: 0,
      failed: 0,
      retrying: false,
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
    });

    // A signed test event reaches the receiver; the signature checks out with the secret.
    const before = receiver.received.length;
    const tested = await admin.call('POST', `/v1/webhooks/${hook.id}/test`);
    expect(tested.status).toBe(200);
    expect(tested.json).toEqual({ id: hook.id, ok: true, status: 204 });
    expect(receiver.received).toHaveLength(before + 1);
    const got = receiver.received[before]!;
    expect(JSON.parse(got.body)).toMatchObject({ type: 'webhook.test', data: { webhook: hook.id } });
    expect(got.headers['webhook-signature']).toBe(expectedSignature(hook.secret, got));
    expect(got.body).not.toContain(hook.secret);

    // A receiver that refuses: the test answers 200 with ok false and its status.
    receiver.answer(500);
    const refused = await admin.call('POST', `/v1/webhooks/${hook.id}/test`);
    receiver.answer(204);
    expect(refused.json).toMatchObject({ id: hook.id, ok: false, status: 500 });

    const removed = await admin.call('DELETE', `/v1/webhooks/${hook.id}`);
    expect(removed.status).toBe(200);
    expect(removed.json).toEqual({ id: hook.id, removed: true });
    expectProblem(await admin.call('DELETE', `/v1/webhooks/${hook.id}`), 404, 'webhook_not_found');
    expectProblem(await admin.call('POST', `/v1/webhooks/${hook.id}/test`), 404, 'webhook_not_found');
    const ids = (await admin.call('GET', '/v1/webhooks')).json.items.map((e: { id: string }) => e.id);
    expect(ids).not.toContain(hook.id);

    // Both changes are audited with the root key as actor, never with the secret.
    const audit = (await admin.call('GET', '/v1/audit?limit=100')).json.items.filter(
      (e: { changes: { webhook?: string } }) => e.changes.webhook === hook.id,
    );
    expect(audit).toMatchObject([
      { action: 'webhook_remove', actor: admin.roots.all!.id, keyId: null, changes: { webhook: hook.id } },
      {
        action: 'webhook_add',
        actor: admin.roots.all!.id,
        keyId: null,
        changes: { webhook: hook.id, url: receiver.url, events: ['key.created', 'key.revoked'] },
      },
    ]);
    expect(JSON.stringify(audit)).not.toContain(hook.secret);
  });

  it('accepts ["*"] for every event and refuses bad input with 400, registering nothing', async () => {
    const all = await admin.call('POST', '/v1/webhooks', { body: { url: receiver.url, events: ['*'] } });
    expect(all.status).toBe(201);
    secrets.push(all.json.secret);
    expect(all.json.events).toContain('key.leaked');
    expect(all.json.events).toContain('key.expiring');
    const count = (await admin.call('GET', '/v1/webhooks')).json.items.length;
    for (const body of [
      { url: receiver.url, events: ['key.exploded'] },
      { url: receiver.url, events: [] },
      { url: receiver.url, events: 'key.created' },
      { url: receiver.url, events: ['key.created,key.revoked'] },
      { url: 'ftp://example.com/hook', events: ['key.created'] },
      { url: 'not a url', events: ['key.created'] },
      { url: 42, events: ['key.created'] },
      { events: ['key.created'] },
      { url: receiver.url, events: ['key.created'], secret: 'whsec_mine' },
    ]) {
      expectProblem(await admin.call('POST', '/v1/webhooks', { body }), 400, 'invalid_input');
    }
    expectProblem(await admin.call('POST', '/v1/webhooks', { body: '[1]' }), 400, 'invalid_json');
    expectProblem(await admin.call('DELETE', '/v1/webhooks/whsec_AAAA'), 404, 'webhook_not_found');
    expect((await admin.call('GET', '/v1/webhooks')).json.items).toHaveLength(count);
  });

  it('refuses loopback and private receivers unless allowed, as the CLI does', async () => {
    // The same store, served as keyward serve does without --allow-private-webhooks.
    const strict = await listen(createAdminApp({ manager: admin.manager }), 0, '127.0.0.1');
    try {
      for (const url of [
        receiver.url,
        'http://10.1.2.3/hook',
        'http://[::1]:9/hook',
        'http://192.168.0.9/h',
      ]) {
        const res = await fetch(`${strict.url}/v1/webhooks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin.roots.all!.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url, events: ['key.created'] }),
        });
        expect(res.status).toBe(400);
        const problem = (await res.json()) as { code: string; detail: string };
        expect(problem.code).toBe('invalid_input');
        expect(problem.detail).toContain('loopback or private address');
      }
    } finally {
      await strict.close();
    }
  });

  it('replays a repeated create with the same Idempotency-Key without the secret', async () => {
    const count = (await admin.call('GET', '/v1/webhooks')).json.items.length;
    const body = { url: receiver.url, events: ['key.deleted'] };
    const headers = { 'idempotency-key': `hook-${kind}` };
    const first = await admin.call('POST', '/v1/webhooks', { body, headers });
    expect(first.status).toBe(201);
    secrets.push(first.json.secret);
    const again = await admin.call('POST', '/v1/webhooks', { body, headers });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.id).toBe(first.json.id);
    expect(again.json).not.toHaveProperty('secret');
    expect((await admin.call('GET', '/v1/webhooks')).json.items).toHaveLength(count + 1);
  });

  it('documents the webhook routes in the OpenAPI document, under keyward:webhooks:write', async () => {
    const doc = (await admin.call('GET', '/v1/openapi.json', { key: null })).json;
    for (const route of ROUTES()) {
      const path = route.path.replace(ANY_ID, '{id}');
      const op = doc.paths[path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${path}`).toBeDefined();
      expect(op.security).toEqual([{ HTTPBearer: [SCOPE] }, { APIKeyHeader: [SCOPE] }]);
    }
    expect(doc.components.schemas.Webhook.properties.secret).toBeDefined();
    expect(doc.components.schemas.WebhookState.properties).not.toHaveProperty('secret');
    // This app serves no metrics: none documented, none served.
    expect(doc.paths['/metrics']).toBeUndefined();
    expectProblem(await admin.call('GET', '/metrics'), 404, 'not_found');
  });

  it('shows each signing secret in its create response and nowhere else', async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(7);
    for (const secret of secrets) {
      const showing = admin.recorded.filter((r) => r.text.includes(secret));
      expect(showing).toHaveLength(1);
      expect(showing[0]).toMatchObject({ method: 'POST', path: '/v1/webhooks', status: 201 });
      // Nor any part of it long enough to matter.
      const middle = secret.slice(10, 30);
      expect(admin.recorded.filter((r) => r.text.includes(middle))).toHaveLength(1);
    }
  });
});
