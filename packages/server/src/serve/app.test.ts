import { keyFormat } from '@keyward/keys';
import { memoryRateLimiter, rateLimits, staticKeys } from 'keyward';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoApp } from './app.js';
import { listen, type RunningServer } from './serve.js';

// The demo app's answers over real HTTP (@hono/node-server writes plain header objects and
// Fetch Headers differently): every authenticated answer carries no-store, with or without
// the guard's own headers.

const KEY = keyFormat().generate();
let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(limited: boolean) {
  const limits = limited
    ? rateLimits<unknown>({
        limiter: memoryRateLimiter(),
        perKey: { default: { limit: 100, windowSeconds: 60 } },
      })
    : undefined;
  const app = createDemoApp({ verify: staticKeys([KEY]), ...(limits ? { limits } : {}) });
  server = await listen(app, 0, '127.0.0.1');
  return server.url;
}

describe('demo app answers', () => {
  it('answers a valid key with JSON and no-store, and a refusal with no-store', async () => {
    const url = await serve(false);
    const ok = await fetch(`${url}/secure-data`, { headers: { 'X-API-Key': KEY } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/json');
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(await ok.json()).toEqual({ message: 'You have access to secure data' });
    const refused = await fetch(`${url}/secure-data`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    const forbidden = await fetch(`${url}/admin-data`, { headers: { 'X-API-Key': KEY } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('cache-control')).toBe('no-store');
    const health = await fetch(`${url}/health`);
    expect(health.headers.get('cache-control')).toBeNull();
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it("keeps the guard's rate-limit headers beside no-store", async () => {
    const url = await serve(true);
    const ok = await fetch(`${url}/secure-data`, { headers: { 'X-API-Key': KEY } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(ok.headers.get('content-type')).toBe('application/json');
    expect(ok.headers.get('ratelimit-policy') ?? ok.headers.get('ratelimit')).toBeTruthy();
    expect(await ok.json()).toEqual({ message: 'You have access to secure data' });
  });

  it('answers a key from the query string with no-store too', async () => {
    const url = await serve(false);
    const ok = await fetch(`${url}/secure-data?x-api-key=${KEY}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
  });
});
