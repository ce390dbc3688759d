import Fastify from 'fastify';
import { apiKeyHeader, KeywardConfigError, staticKeys } from 'keyward';
import { afterAll, describe, expect, it } from 'vitest';

// These apps are created before keyward/fastify is first imported (each test file has its
// own module registry), so keyward has no record of their routes.
const early = Fastify();
const awaited = Fastify();
const { keyward } = await import('../../packages/keyward/src/fastify/index.js');

const guard = { schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: staticKeys('reader-key-123456') };
afterAll(async () => {
  await early.close();
  await awaited.close();
});

describe('Fastify app created before keyward/fastify was imported', () => {
  it('refuses to start when routes were declared before the plugin loaded', async () => {
    early.register(keyward, { guard });
    early.get('/secret', async () => ({ secret: true }));
    await expect(early.ready()).rejects.toThrow(KeywardConfigError);
    await expect(early.ready()).rejects.toThrow(/import keyward\/fastify before creating the app/i);
  });

  it('guards and checks routes declared after an awaited registration', async () => {
    await awaited.register(keyward, { guard });
    awaited.get('/secret', async () => ({ secret: true }));
    expect(() => awaited.get('/bad', { config: { keyward: 'yes' as unknown as boolean } }, () => 1)).toThrow(
      KeywardConfigError,
    );
    expect((await awaited.inject('/secret')).statusCode).toBe(401);
    expect(
      (await awaited.inject({ url: '/secret', headers: { 'x-api-key': 'reader-key-123456' } })).statusCode,
    ).toBe(200);
  });
});
