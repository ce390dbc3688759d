import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { apiKeyHeader, createGuard, type Guard, staticKeys } from 'keyward';
import { apiKeyAuth, type KeywardEnv, protect } from 'keyward/hono';
import { afterEach, describe, expect, it } from 'vitest';
import { send } from '../conformance/wire.js';

// Under @hono/node-server the guard may read the Node request instead of building Fetch
// Headers, but only while that is the request the app handles, unchanged: a header that
// middleware removed, replaced or rebuilt is read as the app sees it.

type Principal = { id: string };
const KEY = 'kw_good_0123456789abcdefghijklmnopqrstuv';
const OTHER = 'kw_other_0123456789abcdefghijklmnopqrstu';
const WRONG = 'kw_wrong_0123456789abcdefghijklmnopqrstu';
const keys = staticKeys([
  { key: KEY, id: 'good' },
  { key: OTHER, id: 'other' },
]);
const guard = createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: keys });

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

// biome-ignore lint/suspicious/noExplicitAny: an app of any Env.
function listen(app: Hono<any>): Promise<string> {
  return new Promise((resolve) => {
    const server = serve(
      { fetch: app.fetch as Hono['fetch'], port: 0, hostname: '127.0.0.1' },
      (info: AddressInfo) => resolve(`http://127.0.0.1:${info.port}`),
    );
    closers.push(
      () =>
        new Promise((done) => {
          server.close(() => done());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
  });
}

type Before = MiddlewareHandler;

/** An app whose /secure route runs `before`, then the guard (both forms), then the handler. */
function appWith(before: Before, g: Guard<Principal> = guard) {
  const app = new Hono<KeywardEnv<Principal>>();
  app.use(before);
  app.get('/secure', apiKeyAuth(g), (c) => c.json({ id: c.var.principal.id }));
  app.get(
    '/protected',
    protect(g, (c) => c.json({ id: c.var.principal.id })),
  );
  return app;
}

const passing: Before = (_c, next) => next();

describe('Hono under @hono/node-server reads the request the app handles', () => {
  it('refuses a key that an outer app removed before forwarding a new Request with c.env', async () => {
    // The outside review's reproduction: a gateway strips X-API-Key and forwards.
    const inner = new Hono<KeywardEnv<Principal>>();
    inner.use(apiKeyAuth(guard));
    inner.get('/internal', (c) =>
      c.json({ secret: 'INTERNAL REPORT', sawHeader: c.req.header('x-api-key') ?? null }),
    );
    const outer = new Hono();
    outer.all('*', (c) => {
      const headers = new Headers(c.req.raw.headers);
      headers.delete('x-api-key');
      return inner.fetch(new Request(c.req.url, { method: c.req.method, headers }), c.env as object);
    });
    const url = await listen(outer);
    const res = await send(url, 'GET', '/internal', [`X-API-Key: ${KEY}`]);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ detail: 'Not authenticated' });
    expect(res.body).not.toContain('INTERNAL');
  });

  it('uses a key an outer app added to the Request it forwards', async () => {
    const inner = new Hono<KeywardEnv<Principal>>();
    inner.use(apiKeyAuth(guard));
    inner.get('/internal', (c) => c.json({ id: c.var.principal.id }));
    const outer = new Hono();
    outer.all('*', (c) => {
      const headers = new Headers(c.req.raw.headers);
      headers.set('x-api-key', OTHER);
      return inner.fetch(new Request(c.req.url, { headers }), c.env as object);
    });
    const url = await listen(outer);
    expect(JSON.parse((await send(url, 'GET', '/internal', [`X-API-Key: ${KEY}`])).body)).toEqual({
      id: 'other',
    });
  });

  it.each(['/secure', '/protected'])(
    'sees a key header middleware removed or replaced in place (%s)',
    async (path) => {
      const removing = await listen(
        appWith((c, next) => {
          c.req.raw.headers.delete('x-api-key');
          return next();
        }),
      );
      expect((await send(removing, 'GET', path, [`X-API-Key: ${KEY}`])).status).toBe(401);
      const replacing = await listen(
        appWith((c, next) => {
          c.req.raw.headers.set('x-api-key', OTHER);
          return next();
        }),
      );
      expect(JSON.parse((await send(replacing, 'GET', path, [`X-API-Key: ${KEY}`])).body)).toEqual({
        id: 'other',
      });
    },
  );

  it('still refuses a repeated key once middleware has read the headers', async () => {
    const reading: Before = (c, next) => {
      c.req.header('user-agent');
      return next();
    };
    const authorization = createGuard({ schemes: apiKeyHeader({ name: 'Authorization' }), verify: keys });
    for (const before of [passing, reading]) {
      const url = await listen(appWith(before));
      for (const path of ['/secure', '/protected']) {
        const twice = await send(url, 'GET', path, [`X-API-Key: ${KEY}`, `x-api-key: ${KEY}`]);
        expect(twice.status, path).toBe(400);
        expect((await send(url, 'GET', path, [`X-API-Key: ${KEY}`])).status, path).toBe(200);
      }
      // Node keeps only the first Authorization line in req.headers: both paths see both.
      const auth = await listen(appWith(before, authorization));
      const res = await send(auth, 'GET', '/secure', [`Authorization: ${KEY}`, `Authorization: ${OTHER}`]);
      expect(res.status).toBe(400);
    }
  });

  it('builds no Fetch Headers while nothing touched them: it reads the Node request (fast path)', async () => {
    let built = 0;
    const counting: Before = (c, next) => {
      const raw = c.req.raw;
      const proto = Object.getPrototypeOf(raw) as object;
      Object.defineProperty(raw, 'headers', {
        configurable: true,
        get() {
          built++;
          return Reflect.get(proto, 'headers', raw);
        },
      });
      return next();
    };
    const url = await listen(appWith(counting));
    // The first request teaches keyward how @hono/node-server links the two.
    expect((await send(url, 'GET', '/secure', [`X-API-Key: ${KEY}`])).status).toBe(200);
    built = 0;
    for (const path of ['/secure', '/protected']) {
      expect((await send(url, 'GET', path, [`X-API-Key: ${KEY}`])).status).toBe(200);
      expect((await send(url, 'GET', path, [`X-API-Key: ${WRONG}`])).status).toBe(401);
    }
    expect(built).toBe(0);
  });
});
