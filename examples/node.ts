// The seed's header example on plain node:http: `X-API-Key: <key>`.
// Run: API_KEY=mysecretapikey npx tsx examples/node.ts
import { createServer, type ServerResponse } from 'node:http';
import { apiKeyHeader, createGuard, staticKeys } from 'keyward';
import { apiKeyAuth } from 'keyward/node';

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function createApp(apiKey: string) {
  const verifyApiKey = createGuard({
    schemes: apiKeyHeader({ name: 'X-API-Key' }),
    verify: staticKeys(apiKey),
  });
  const requireKey = apiKeyAuth(verifyApiKey);

  return createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || pathname !== '/secure-data') return json(res, 404, { detail: 'Not Found' });
    // Writes the 401 itself; calls the callback only for a valid key.
    requireKey(req, res, () => json(res, 200, { message: 'You have access to secure data' }));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const apiKey = process.env.API_KEY;
  if (!apiKey) throw new Error('set API_KEY');
  const port = Number(process.env.PORT ?? 8000);
  createApp(apiKey).listen(port, () => console.log(`http://localhost:${port}/secure-data`));
}
