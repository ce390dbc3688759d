/**
 * keyward on Hono: `protect(guard, handler)` from keyward/hono, the single-handler form (header
 * `X-API-Key`), served by @hono/node-server. Static keys or the SQLite store, per config.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { protect } from '../../src/adapters/hono/index.js';
import { apiKeyHeader, createGuard } from '../../src/index.js';
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

const verifier = await benchVerifier(config());
const guard = createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: verifier.verify });

const app = new Hono();
app.get(PUBLIC_PATH, (c) => c.json(PUBLIC_BODY));
app.get(STATS_PATH, (c) => c.json({ lookups: verifier.lookups() }));
app.get(
  SECURE_PATH,
  protect(guard, (c) => c.json(SECURE_BODY)),
);
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => announce(info.port));
