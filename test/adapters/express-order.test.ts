import type { AddressInfo } from 'node:net';
import express, { type Express, type Request, type Response } from 'express';
import { apiKeyHeader, createGuard, staticKeys } from 'keyward';
import { apiKeyAuth, describeRoutes } from 'keyward/express';
import { afterEach, describe, expect, it } from 'vitest';

// describeRoutes must document what Express enforces, in every declaration order: checked
// here by asking the running app, without a key, for every operation it documents.

const guard = createGuard({
  schemes: apiKeyHeader({ name: 'X-API-Key' }),
  verify: staticKeys('reader-key-123456'),
});
const ok = (_req: Request, res: Response) => {
  res.json({ ok: true });
};

const servers: { close(): void; closeAllConnections(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** Each documented operation as `METHOD /path documented/enforced` (guarded or public). */
async function documentedVersusEnforced(app: Express): Promise<string[]> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lines: string[] = [];
  for (const route of describeRoutes(app)) {
    const path = route.path.replace(/\{[^}]+\}/g, 'p');
    const res = await fetch(url + path, { method: route.method.toUpperCase() });
    const enforced = res.status === 401 ? 'guarded' : 'public';
    lines.push(`${route.method} ${route.path} ${route.guard ? 'guarded' : 'public'}/${enforced}`);
  }
  return lines;
}

describe('Express: describeRoutes documents what runs, whatever the order', () => {
  it('documents a guard declared after the route handler as public, because it never runs first', async () => {
    const app = express();
    app.get('/after-handler', ok, apiKeyAuth(guard));
    app.route('/items').get(ok).all(apiKeyAuth(guard)).post(ok);
    app.post('/before-handler', express.json(), apiKeyAuth(guard), ok);
    expect(await documentedVersusEnforced(app)).toEqual([
      'get /after-handler public/public',
      'get /items public/public',
      'post /items guarded/guarded',
      'post /before-handler guarded/guarded',
    ]);
  });

  it("documents the app routes declared after a router as guarded by the router's guard", async () => {
    const app = express();
    const api = express.Router();
    api.use(apiKeyAuth(guard));
    api.get('/inside', ok);
    app.get('/api/early', ok);
    app.use('/api', api);
    app.get('/api/late', ok);
    app.get('/apix', ok);
    expect(await documentedVersusEnforced(app)).toEqual([
      'get /api/early public/public',
      'get /api/inside guarded/guarded',
      'get /api/late guarded/guarded',
      'get /apix public/public',
    ]);
  });

  it('documents the real paths of a guarded router mounted at /', async () => {
    const app = express();
    const api = express.Router();
    api.get('/open', ok);
    api.use(apiKeyAuth(guard));
    api.get('/x', ok);
    app.use('/', api);
    app.get('/y', ok);
    expect(await documentedVersusEnforced(app)).toEqual([
      'get /open public/public',
      'get /x guarded/guarded',
      'get /y guarded/guarded',
    ]);
  });

  it('treats a route that only guards as middleware for the routes after it', async () => {
    const app = express();
    app.get('/open', ok);
    app.get('/x', apiKeyAuth(guard));
    app.get('/x', ok);
    app.route('/y').all(apiKeyAuth(guard));
    app.post('/y', ok);
    app.all('/admin/*rest', apiKeyAuth(guard));
    app.get('/admin/users', ok);
    app.get('/other', ok);
    expect(await documentedVersusEnforced(app)).toEqual([
      'get /open public/public',
      'get /x guarded/guarded',
      'post /y guarded/guarded',
      'get /admin/users guarded/guarded',
      'get /other public/public',
    ]);
  });

  it('keeps routes declared before app.use(guard) public, and those after guarded', async () => {
    const app = express();
    app.get('/before', ok);
    app.use(apiKeyAuth(guard));
    app.get('/after', ok);
    expect(await documentedVersusEnforced(app)).toEqual([
      'get /before public/public',
      'get /after guarded/guarded',
    ]);
  });
});
