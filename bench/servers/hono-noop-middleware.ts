/**
 * Reference: Hono with a middleware that checks nothing. It only sets a variable, as an
 * auth middleware sets the principal, and calls `next()`. What any middleware costs a
 * Hono route here, before a key is read: target 1's floor for `apiKeyAuth` on Hono.
 */
import { serve } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { announce, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';

const principal = Object.freeze({ id: 'reference' });
const noop: MiddlewareHandler = (c, next) => {
  c.set('principal' as never, principal as never);
  return next();
};

const app = new Hono();
app.get(PUBLIC_PATH, (c) => c.json(PUBLIC_BODY));
app.get(SECURE_PATH, noop, (c) => c.json(SECURE_BODY));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => announce(info.port));
