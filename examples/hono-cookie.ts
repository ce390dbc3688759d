// The seed's cookie example, protecting the whole app: `Cookie: X-API-KEY=<key>` (case-sensitive name).
// Run: API_KEY=mysecretapikey npx tsx examples/hono-cookie.ts
import { serve } from '@hono/node-server';
import { mountDocs } from '@keyward/docs/hono';
import { Hono } from 'hono';
import { apiKeyCookie, createGuard, staticKeys } from 'keyward';
import { apiKeyAuth, publicRoute } from 'keyward/hono';

export function createApp(apiKey: string) {
  const verifyApiKey = createGuard({
    schemes: apiKeyCookie({ name: 'X-API-KEY' }),
    verify: staticKeys(apiKey),
  });

  const app = new Hono();
  app.use(apiKeyAuth(verifyApiKey)); // every route below needs the key...
  app.get('/secure-data', (c) => c.json({ message: 'You have access to secure data' }));
  app.get('/health', publicRoute(), (c) => c.json({ status: 'ok' })); // ...but this one
  mountDocs(app, { info: { title: 'Cookie example', version: '1.0.0' } }); // docs stay public
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const apiKey = process.env.API_KEY;
  if (!apiKey) throw new Error('set API_KEY');
  serve({ fetch: createApp(apiKey).fetch, port: Number(process.env.PORT ?? 8000) });
}
