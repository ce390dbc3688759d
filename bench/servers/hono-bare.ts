/**
 * Reference for issue 16's point 2: a bare Hono app on @hono/node-server with one route
 * answering the JSON of `keyward serve`'s public route (`GET /health`, `{"status":"ok"}`),
 * nothing else: what serve's public route is judged against.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { announce, PUBLIC_BODY, PUBLIC_PATH } from './common.js';

const app = new Hono();
app.get(PUBLIC_PATH, (c) => c.json(PUBLIC_BODY));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => announce(info.port));
