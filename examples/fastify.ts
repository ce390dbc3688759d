// The seed's header example with Fastify 5: `X-API-Key: <key>`, with the docs page at /docs.
// Run: API_KEY=mysecretapikey npx tsx examples/fastify.ts

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { docsDefaults } from '@keyward/docs';
import Fastify from 'fastify';
import { apiKeyHeader, staticKeys } from 'keyward';
import { apiKeyAuth, withSecurity } from 'keyward/fastify';

export async function createApp(apiKey: string) {
  const app = Fastify();
  // withSecurity gives @fastify/swagger each guarded route's `security`, description and
  // refusals (401, 429, 503), and keyward's securitySchemes.
  await app.register(swagger, {
    openapi: { info: { title: 'Fastify example', version: '1.0.0' } },
    transformObject: withSecurity,
  });
  await app.register(apiKeyAuth, {
    guard: { schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: staticKeys(apiKey) },
  });
  // The docs pages stay public: their routes are marked before @fastify/swagger-ui declares them.
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/'))
      route.config = { ...route.config, keyward: false };
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // What keyward's own /docs shows: what to paste where, the header first.
    transformSpecification: (spec) => docsDefaults(spec),
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
