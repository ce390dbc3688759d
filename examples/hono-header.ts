// The seed's header example, protecting a single route: `X-API-Key: <key>`.
// Run: API_KEY=mysecretapikey npx tsx examples/hono-header.ts
import { serve } from '@hono/node-server';
import { mountDocs } from '@keyward/docs/hono';
import { Hono } from 'hono';
import { apiKeyHeader, createGuard, staticKeys } from 'keyward';
import { apiKeyAuth } from 'keyward/hono';

export function createApp(apiKey: string) {
  const verifyApiKey = createGuard({
    schemes: apiKeyHeader({ name: 'X-API-Key' }),
    verify: staticKeys(apiKey),
  });

  const app = new Hono();
  app.get('/secure-data', apiKeyAuth(verifyApiKey), (c) =>
    c.json({ message: 'You have access to secure data' }),
  );
  mountDocs(app, { info: { title: 'Header example', version: '1.0.0' } });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const apiKey = process.env.API_KEY;
  if (!apiKey) throw new Error('set API_KEY');
  serve({ fetch: createApp(apiKey).fetch, port: Number(process.env.PORT ?? 8000) });
}
