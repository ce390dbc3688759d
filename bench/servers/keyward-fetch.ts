/**
 * keyward/fetch: `withApiKey` around a Web-standard fetch handler, served on Node by
 * @hono/node-server (the public route goes through the same fetch function, unwrapped).
 */
import { serve } from '@hono/node-server';
import { apiKeyHeader, createGuard } from 'keyward';
import { withApiKey } from 'keyward/fetch';
import { announce, config, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';
import { benchVerifier } from './verifier.js';

const verifier = await benchVerifier(config());
const guard = createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: verifier.verify });
const secured = withApiKey(guard, () => Response.json(SECURE_BODY));

function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const q = url.indexOf('?', start);
  return q === -1 ? url.slice(start) : url.slice(start, q);
}

function handle(request: Request): Response | Promise<Response> {
  const path = pathOf(request.url);
  if (path === PUBLIC_PATH) return Response.json(PUBLIC_BODY);
  if (path === SECURE_PATH) return secured(request);
  return Response.json({ detail: 'Not Found' }, { status: 404 });
}

serve({ fetch: handle, port: 0, hostname: '127.0.0.1' }, (info) => announce(info.port));
