/**
 * keyward on Hono: `apiKeyAuth` from keyward/hono on the protected route, or
 * `protect(guard, handler)` with `form: 'protect'` (header
 * `X-API-Key`), served by @hono/node-server. Static keys or the SQLite store, per config.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { apiKeyHeader, createGuard } from 'keyward';
import { apiKeyAuth, protect } from 'keyward/hono';
import {
  announce,
  config,
  PUBLIC_BODY,
  PUBLIC_PATH,
  SECURE_BODY,
  SECURE_PATH,
  STATS_PATH,
} from './common.js';
import { benchVerifier } from './verifier.js';

const settings = config();
const verifier = await benchVerifier(settings);
const guard = createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: verifier.verify });

const app = new Hono();
app.get(PUBLIC_PATH, (c) => c.json(PUBLIC_BODY));
app.get(STATS_PATH, (c) => c.json({ lookups: verifier.lookups() }));
if (settings.form === 'protect')
  app.get(
    SECURE_PATH,
    protect(guard, (c) => c.json(SECURE_BODY)),
  );
else app.get(SECURE_PATH, apiKeyAuth(guard), (c) => c.json(SECURE_BODY));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => announce(info.port));
