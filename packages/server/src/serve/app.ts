import { mountDocs } from '@keyward/docs/hono';
import { Hono } from 'hono';
import type { GuardLimits } from 'keyward';
import { apiKeyCookie, apiKeyHeader, apiKeyQuery, createGuard, type Verifier } from 'keyward';
import { apiKeyAuth, publicRoute } from 'keyward/hono';
import type { Logger } from 'pino';
import { requestLogger } from '../log/hono.js';

/** The seed's three places, accepted as alternatives in this order. */
export const demoSchemes = [
  apiKeyHeader({ name: 'X-API-Key' }),
  apiKeyCookie({ name: 'X-API-KEY' }),
  apiKeyQuery({ name: 'x-api-key' }),
] as const;

export interface DemoAppOptions<P> {
  verify: Verifier<P>;
  /** Rate limits (`rateLimits({...})`); none unless given. */
  limits?: GuardLimits<P>;
  /** Logs one line per request (use keyward's `createLogger`: it redacts keys). */
  logger?: Logger;
  title?: string;
  version?: string;
}

/** The protected demo API that `keyward serve` runs. */
export function createDemoApp<P>(options: DemoAppOptions<P>): Hono {
  const guard = createGuard({ schemes: demoSchemes, verify: options.verify, limits: options.limits });
  const app = new Hono();
  // First, so that rejected requests are timed and logged too.
  if (options.logger) app.use(requestLogger(options.logger));

  app.get('/health', publicRoute(), (c) => c.json({ status: 'ok' }));
  // Responses to authenticated requests get Cache-Control: no-store from the guard.
  app.get('/secure-data', apiKeyAuth(guard), (c) => c.json({ message: 'You have access to secure data' }));
  app.get('/admin-data', apiKeyAuth(guard.require('admin')), (c) =>
    c.json({ message: 'You have access to admin data' }),
  );

  mountDocs(app, {
    info: { title: options.title ?? 'keyward demo API', version: options.version ?? '0.1.0' },
  });

  // Every answer is JSON; nothing reaches a stack trace.
  app.notFound((c) => c.json({ detail: 'Not Found' }, 404));
  app.onError((error, c) => {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500)
      return c.json({ detail: 'Bad Request' }, 400);
    process.emitWarning(`unhandled error: ${error.name}`, 'KeywardWarning');
    return c.json({ detail: 'Internal Server Error' }, 500);
  });
  return app;
}
