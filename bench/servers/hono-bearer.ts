/** Peer: Hono 4 with its built-in `hono/bearer-auth` on one static token, served by @hono/node-server. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { announce, config, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';

const app = new Hono();
app.get(PUBLIC_PATH, (c) => c.json(PUBLIC_BODY));
app.get(SECURE_PATH, bearerAuth({ token: config().key }), (c) => c.json(SECURE_BODY));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => announce(info.port));
