import { mountDocs } from '@keyward/docs/hono';
import type { KeyManager, KeyPrincipal } from '@keyward/keys';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { GuardLimits } from 'keyward';
import { AdminAuth } from './auth.js';
import { MAX_BODY_BYTES } from './body.js';
import { dashboardRoutes } from './dashboard.js';
import { adminDocument } from './openapi.js';
import { ownerRoutes } from './owners.js';
import { problem, problemFor } from './problem.js';
import { adminRoute, keyRoutes } from './routes.js';
import { type SessionOptions, SessionStore } from './sessions.js';
import { usageRoutes } from './usage.js';
import { type NodeRoute, nodeVerifyRoute, secureHeaders } from './verify.js';
import { webhookRoutes } from './webhooks.js';

export interface AdminAppOptions {
  manager: KeyManager;
  /** Rate limits for root keys (the public API's); none unless given. */
  limits?: GuardLimits<KeyPrincipal>;
  /** Dashboard sessions (default: 8 hours each, at most 10,000). */
  sessions?: SessionOptions;
  version?: string;
  /** Webhook receivers on loopback or private addresses are allowed (serve's `--allow-private-webhooks`). */
  allowPrivateWebhooks?: boolean;
  /**
   * `GET /metrics`: the Prometheus text (`createServeMetrics().render`), for a root key
   * with `keyward:usage:read`. Not served unless given.
   */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

const nodeRoutes = new WeakMap<Hono, NodeRoute>();

/**
 * The node:http route to place before an admin app's listener (`listen`'s `first`):
 * `POST /v1/keys/verify` without the Fetch layer, answering as the app does, through the
 * app's own guard and limits. `undefined` for an app not made by {@link createAdminApp}.
 */
export function adminNodeRoute(app: Hono): NodeRoute | undefined {
  return nodeRoutes.get(app);
}

/**
 * The admin listener's app: the JSON API under `/v1` (OpenAPI at `/v1/openapi.json`,
 * Swagger UI at `/v1/docs`). Serve it on its own port, never beside the public API.
 */
export function createAdminApp(options: AdminAppOptions): Hono {
  const { manager } = options;
  const auth = new AdminAuth(manager, new SessionStore(options.sessions), options.limits);
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    const headers = c.res.headers;
    secureHeaders(
      (name) => headers.has(name),
      (name, value) => headers.set(name, value),
    );
  });
  // No body beyond the limit is ever read: a declared or streamed excess is refused as it comes.
  app.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => problem('payload_too_large') }));
  const route = adminRoute(auth, manager);
  keyRoutes(app, route, manager);
  ownerRoutes(app, route, manager);
  usageRoutes(app, route, manager);
  webhookRoutes(app, route, manager, { allowPrivate: options.allowPrivateWebhooks === true });
  const metrics = options.metrics;
  if (metrics) {
    // Prometheus sends the root key as a bearer token (`authorization` in its scrape config).
    app.get(
      '/metrics',
      route('keyward:usage:read', async () => {
        const { contentType, body } = await metrics();
        return new Response(body, { headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
      }),
    );
  }
  dashboardRoutes(app, auth);
  const version = options.version ?? '0.2.0';
  let document: ReturnType<typeof adminDocument> | undefined;
  mountDocs(app, {
    info: { title: 'keyward admin API', version },
    openapiPath: '/v1/openapi.json',
    docsPath: '/v1/docs',
    transform: () => {
      document ??= adminDocument(auth, version, options.metrics !== undefined);
      return document;
    },
  });
  app.notFound(() => problem('not_found'));
  nodeRoutes.set(app, nodeVerifyRoute(auth, manager));
  app.onError((error) => {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return problem('invalid_input');
    return problemFor(error);
  });
  return app;
}
