import { mountDocs } from '@keyward/docs/hono';
import { type Context, Hono } from 'hono';
import type { AuthResult, GuardLimits } from 'keyward';
import { apiKeyCookie, apiKeyHeader, apiKeyQuery, createGuard, type Guard, type Verifier } from 'keyward';
import { authResultOf, type KeywardEnv, principalOf, protect } from 'keyward/hono';
import type { Logger } from 'pino';
import { requestLogger } from '../log/hono.js';
import { AUTH_RESULT, PRINCIPAL, ROUTE } from './access-log.js';

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
  /**
   * Logs one line per request through Hono middleware (use keyward's `createLogger`: it
   * redacts keys). `keyward serve` logs at the HTTP server instead (see `accessLogged`),
   * which keeps every route on Hono's fast path.
   */
  logger?: Logger;
  /** Told every authentication's result (`createGuard({ observe })`): usage analytics. */
  observe?: (result: AuthResult<P>, elapsedMs: number) => void;
  /** Records each route's auth result on the Node request, for `accessLogged`. */
  noteRequests?: boolean;
  title?: string;
  version?: string;
}

type Incoming = Record<symbol, unknown>;

/**
 * A guarded route's single handler (Hono answers a route with one handler without its
 * middleware chain), recording for the access log what the guard decided, on the Node
 * request @hono/node-server hands the app as `c.env.incoming`.
 */
function guarded<P>(
  guard: Guard<P>,
  route: string,
  note: boolean,
  handler: (c: Context<KeywardEnv<P>>) => Response | Promise<Response>,
) {
  const inner = protect(guard, handler);
  if (!note) return inner;
  const record = (c: Context<KeywardEnv<P>>) => {
    const incoming = (c.env as { incoming?: Incoming } | undefined)?.incoming;
    if (incoming === undefined) return;
    incoming[AUTH_RESULT] = authResultOf(c) as AuthResult<unknown> | undefined;
    incoming[PRINCIPAL] = principalOf(c);
    incoming[ROUTE] = route;
  };
  const recorded = (c: Context<KeywardEnv<P>>) => {
    const response = (inner as (c: Context<KeywardEnv<P>>) => Response | Promise<Response>)(c);
    if (!(response instanceof Promise)) {
      record(c);
      return response;
    }
    return response.then((r) => {
      record(c);
      return r;
    });
  };
  // keyward's marks (the guard this route enforces) go along: the OpenAPI document reads them.
  for (const mark of Object.getOwnPropertySymbols(inner)) {
    (recorded as unknown as Incoming)[mark] = (inner as unknown as Incoming)[mark];
  }
  return recorded;
}

/** What a request to the demo's `/expensive-data` costs a key with credits. */
export const EXPENSIVE_COST = 5;

/** The protected demo API that `keyward serve` runs. */
export function createDemoApp<P>(options: DemoAppOptions<P>): Hono {
  const guard = createGuard({
    schemes: demoSchemes,
    verify: options.verify,
    limits: options.limits,
    observe: options.observe,
  });
  const note = options.noteRequests ?? false;
  const app = new Hono();
  // First, so that rejected requests are timed and logged too.
  if (options.logger) app.use(requestLogger(options.logger));

  // One handler per route: no app-wide guard, so /health needs no publicRoute() marker.
  app.get('/health', (c) => c.json({ status: 'ok' }));
  // Responses to authenticated requests get Cache-Control: no-store from the guard.
  app.get(
    '/secure-data',
    guarded(guard, '/secure-data', note, (c) => c.json({ message: 'You have access to secure data' })),
  );
  app.get(
    '/admin-data',
    guarded(guard.require('admin'), '/admin-data', note, (c) =>
      c.json({ message: 'You have access to admin data' }),
    ),
  );

  // A route that costs 5 credits: taken from the key's credits (or its owner's) only once
  // authentication, scopes and rate limits passed.
  app.get(
    '/expensive-data',
    guarded(guard.require({ cost: EXPENSIVE_COST }), '/expensive-data', note, (c) =>
      c.json({ message: `You have access to expensive data (${EXPENSIVE_COST} credits)` }),
    ),
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
