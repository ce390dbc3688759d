import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
const mode = process.env.MODE;
let n = 0;
if (mode === 'async')
  app.use(async (c, next) => {
    const s = performance.now();
    await next();
    n += c.res.status + (performance.now() - s);
  });
if (mode === 'then')
  app.use((c, next) => {
    const s = performance.now();
    return next().then(() => {
      n += c.res.status + (performance.now() - s);
    });
  });
app.get('/health', (c) => c.json({ status: 'ok' }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
