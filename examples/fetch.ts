// The seed's header example as a Web-standard fetch handler (Bun, Deno, workers, Node):
// `X-API-Key: <key>`. Everything here is portable: keyward/fetch and Web Crypto.
// Run on Node: API_KEY=mysecretapikey npx tsx examples/fetch.ts
// (Bun: `export default { fetch: createHandler(Bun.env.API_KEY) }`.)
import { serve } from '@hono/node-server';
import { apiKeyHeader, createGuard } from 'keyward';
import { withApiKey } from 'keyward/fetch';

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

// keyward's staticKeys uses node:crypto; this verifier uses Web Crypto instead. Both compare
// fixed-length digests without an early exit, so timing says nothing about the key.
function sameKeyAs(expected: string) {
  const expectedDigest = sha256(expected);
  return async (key: string) => {
    const [presented, wanted] = await Promise.all([sha256(key), expectedDigest]);
    let difference = 0;
    for (let i = 0; i < wanted.length; i++) difference |= presented[i]! ^ wanted[i]!;
    return difference === 0 ? { id: 'client' } : null;
  };
}

export function createHandler(apiKey: string) {
  const verifyApiKey = createGuard({
    schemes: apiKeyHeader({ name: 'X-API-Key' }),
    verify: sameKeyAs(apiKey),
  });
  const secureData = withApiKey(verifyApiKey, () =>
    Response.json({ message: 'You have access to secure data' }),
  );

  return (request: Request): Response | Promise<Response> => {
    const { pathname } = new URL(request.url);
    if (request.method === 'GET' && pathname === '/secure-data') return secureData(request);
    return Response.json({ detail: 'Not Found' }, { status: 404 });
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const apiKey = process.env.API_KEY;
  if (!apiKey) throw new Error('set API_KEY');
  const port = Number(process.env.PORT ?? 8000);
  serve({ fetch: createHandler(apiKey), port }, () => console.log(`http://localhost:${port}/secure-data`));
}
