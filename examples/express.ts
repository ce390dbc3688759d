// The seed's header example with Express 5: `X-API-Key: <key>`.
// Run: API_KEY=mysecretapikey npx tsx examples/express.ts

import { mountDocs } from '@keyward/docs/express';
import express from 'express';
import { apiKeyHeader, createGuard, staticKeys } from 'keyward';
import { apiKeyAuth } from 'keyward/express';

export function createApp(apiKey: string) {
  const verifyApiKey = createGuard({
    schemes: apiKeyHeader({ name: 'X-API-Key' }),
    verify: staticKeys(apiKey),
  });

  const app = express();
  // Declared before any guard, so /openapi.json and /docs stay public.
  mountDocs(app, { info: { title: 'Express example', version: '1.0.0' } });
  app.get('/secure-data', apiKeyAuth(verifyApiKey), (_req, res) => {
    res.json({ message: 'You have access to secure data' });
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const apiKey = process.env.API_KEY;
  if (!apiKey) throw new Error('set API_KEY');
  const port = Number(process.env.PORT ?? 8000);
  createApp(apiKey).listen(port, () => console.log(`http://localhost:${port}/secure-data`));
}
