// The seed's query example: `GET /secure-data?x-api-key=<key>`. Query keys end up in
// access logs and browser history: prefer the header where clients allow it.
// Run: API_KEY=mysecretapikey npx tsx examples/hono-query.ts
import { serve } from '@hono/node-server';
import { mountDocs } from '@keyward/docs/hono';
import { Hono } from 'hono';
import { apiKeyQuery, createGuard, staticKeys } from 'keyward';
import { apiKeyAuth } from 'keyward/hono';

export function createApp(apiKey: string) {
  const verifyApiKey = createGuard({
    schemes: apiKeyQuery({ name: 'x-api-key' }),
    verify: staticKeys(apiKey),
  });

  const app = new Hono();
  app.get('/secure-data', apiKeyAuth(verifyApiKey), (c) =>
    c.json({ message: 'You have access to secure data' }),
  );
  mountDocs(app, { info: { title: 'Query example', version: '1.0.0' } });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const apiKey = process.env.API_KEY;
  if (!apiKey) throw new Error('set API_KEY');
  serve({ fetch: createApp(apiKey).fetch, port: Number(process.env.PORT ?? 8000) });
}
