import express, { type ErrorRequestHandler } from 'express';
import { createGuard } from 'keyward';
import { apiKeyAuth } from 'keyward/express';
import {
  type ConformanceApp,
  defaultVerify,
  OWN_CACHE_CONTROL,
  optionalSchemes,
  schemes,
  type TestPrincipal,
} from './fixture.js';
import { listenNode } from './serve-node.js';

// Types `req.principal` for the whole program (one declaration per program, as for users).
declare module 'keyward/express' {
  interface Register {
    principal: TestPrincipal;
  }
}

export const expressApp: ConformanceApp = {
  name: 'express',
  async start(options) {
    const verify = options.verify ?? defaultVerify();
    const { cacheControl } = options;
    const guard = createGuard({ schemes: schemes(options.header, options.bearer), verify, cacheControl });
    const optional = createGuard({
      schemes: optionalSchemes(options.header, options.bearer),
      verify,
      cacheControl,
    });
    let bodyReads = 0;
    const app = express();
    app.disable('x-powered-by');
    app.get('/health', (_req, res) => {
      res.json({ status: 'ok' });
    });
    app.get('/stats', (_req, res) => {
      res.json({ bodyReads });
    });
    app.get('/secure-data', apiKeyAuth(guard), (req, res) => {
      res.json({ message: 'You have access to secure data', principal: req.principal!.id });
    });
    app.get('/cached-data', apiKeyAuth(guard), (_req, res) => {
      res.set('cache-control', OWN_CACHE_CONTROL);
      res.json({ message: 'cacheable' });
    });
    app.get('/admin-data', apiKeyAuth(guard.require('admin')), (_req, res) => {
      res.json({ message: 'You have access to admin data' });
    });
    app.get('/optional', apiKeyAuth(optional), (req, res) => {
      res.json({ principal: req.principal?.id ?? null });
    });
    app.post(
      '/echo',
      apiKeyAuth(guard),
      (_req, _res, next) => {
        bodyReads++;
        next();
      },
      express.json({ type: () => true, strict: false }),
      (req, res) => {
        res.json({ received: req.body });
      },
    );
    app.use((_req, res) => {
      res.status(404).json({ detail: 'Not Found' });
    });
    const onError: ErrorRequestHandler = (error, _req, res, _next) => {
      const status = (error as { status?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        res.status(400).json({ detail: 'Invalid JSON body' });
        return;
      }
      res.status(500).json({ detail: 'Internal Server Error' });
    };
    app.use(onError);
    return listenNode(app);
  },
};
