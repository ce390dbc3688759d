// The seed's header example with Fastify 5: `X-API-Key: <key>`.
// Run: API_KEY=mysecretapikey npx tsx examples/fastify.ts
import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { apiKeyHeader, staticKeys } from 'keyward';
import { keyward, withSecurity } from 'keyward/fastify';

export async function createApp(apiKey: string) {
  const app = Fastify();
  // withSecurity gives @fastify/swagger each guarded route's `security` and keyward's securitySchemes.
  await app.register(swagger, {
    openapi: { info: { title: 'Fastify example', version: '1.0.0' } },
    transformObject: withSecurity,
  });
  await app.register(keyward, {
    guard: { schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: staticKeys(apiKey) },
  });

  app.get('/secure-data', async () => ({ message: 'You have access to secure data' }));
  app.get('/openapi.json', { config: { keyward: false }, schema: { hide: true } }, async () => app.swagger());
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const apiKey = process.env.API_KEY;
  if (!apiKey) throw new Error('set API_KEY');
  const app = await createApp(apiKey);
  console.log(await app.listen({ port: Number(process.env.PORT ?? 8000) }));
}
