/**
 * Reference: Hono with a hand-written middleware doing the keyed check of keyed-check.ts
 * (target 1's floor on Hono). It reads Node's own header object, as keyward's Hono adapter
 * does under @hono/node-server, and is not async, so Hono's compose stays on its fast path.
 */
import { serve } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { announce, config, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';
import { DENY_INVALID, DENY_MISSING, keyedCheck } from './keyed-check.js';

const check = keyedCheck(config().key);
const deny = { 'content-type': 'application/json', 'www-authenticate': 'APIKey' };

// Hono awaits what a middleware returns, so a Response returned as is works, as keyward's does.
const keyed = ((c, next) => {
  const key = (c.env as { incoming: { headers: Record<string, string | string[] | undefined> } }).incoming
    .headers['x-api-key'];
  if (key === undefined) return c.body(DENY_MISSING, 401, deny);
  if (!check(key)) return c.body(DENY_INVALID, 401, deny);
  return next();
}) as MiddlewareHandler;

const app = new Hono();
app.get(PUBLIC_PATH, (c) => c.json(PUBLIC_BODY));
app.get(SECURE_PATH, keyed, (c) => c.json(SECURE_BODY));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => announce(info.port));
