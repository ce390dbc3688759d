import type { KeyManager } from '@keyward/keys';
import type { Context, Hono } from 'hono';
import { KeywardConfigError } from 'keyward';
import { checkReceiver, listEndpointViews, sendTestEvent } from '../webhooks/manage.js';
import {
  addEndpoint,
  listEndpoints,
  type MetaStore,
  parseEvents,
  removeEndpoint,
  type WebhookEndpoint,
} from '../webhooks/registry.js';
import { readObject } from './body.js';
import { AdminError } from './problem.js';
import type { AdminRoute } from './routes.js';

const CREATE_FIELDS = new Set(['url', 'events']);
const ID = /^wh_[0-9a-f]{16}$/;

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });

/** The store's settings table, where endpoints live; a store without one has no webhooks. */
function metaOf(manager: KeyManager): MetaStore {
  const store = manager.store;
  if (!store.readMeta || !store.swapMeta) {
    throw new AdminError('not_found', 'webhooks need a SQLite or PostgreSQL key store');
  }
  return store as MetaStore;
}

/** Configuration errors (a bad URL, an unknown event, a private address) are the caller's: 400. */
async function asInput<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof KeywardConfigError) throw new AdminError('invalid_input', error.message);
    throw error;
  }
}

/** The endpoint named in the path; anything else is a 404 that does not repeat it (it may be a pasted secret). */
async function endpointOf(c: Context, store: MetaStore): Promise<WebhookEndpoint> {
  const id = c.req.param('id') ?? '';
  const found = ID.test(id) ? (await listEndpoints(store)).find((e) => e.id === id) : undefined;
  if (!found) throw new AdminError('webhook_not_found', 'no webhook with that id (ids look like wh_…)');
  return found;
}

export interface WebhookRouteOptions {
  /** Receivers on loopback or private addresses are allowed (serve's `--allow-private-webhooks`). */
  readonly allowPrivate: boolean;
}

/**
 * Declares `/v1/webhooks` (register, list), `/v1/webhooks/{id}` (remove) and
 * `/v1/webhooks/{id}/test`, all under `keyward:webhooks:write`. The signing secret is in
 * the create response only: the list never shows it, and an Idempotency-Key replay of
 * the create answers without it.
 */
export function webhookRoutes(
  app: Hono,
  route: AdminRoute,
  manager: KeyManager,
  options: WebhookRouteOptions,
): void {
  app.post(
    '/v1/webhooks',
    route('keyward:webhooks:write', async (c, caller) => {
      const store = metaOf(manager);
      const body = await readObject(c, CREATE_FIELDS);
      if (typeof body.url !== 'string') throw new AdminError('invalid_input', 'url must be a string');
      const list = body.events;
      if (!Array.isArray(list) || !list.every((e) => typeof e === 'string' && !e.includes(','))) {
        throw new AdminError('invalid_input', 'events must be an array of event names, or ["*"]');
      }
      const events = await asInput(() => parseEvents(list.join(',')));
      const url = await asInput(() => checkReceiver(body.url as string, options.allowPrivate));
      const endpoint = await addEndpoint(store, url, events, Date.now(), caller.keyId);
      // The one response that carries the secret.
      return json(endpoint, 201, { location: `/v1/webhooks/${endpoint.id}` });
    }),
  );

  app.get(
    '/v1/webhooks',
    route('keyward:webhooks:write', async () => json({ items: await listEndpointViews(metaOf(manager)) })),
  );

  app.delete(
    '/v1/webhooks/:id',
    route('keyward:webhooks:write', async (c, caller) => {
      const store = metaOf(manager);
      const endpoint = await endpointOf(c, store);
      if (!(await removeEndpoint(store, endpoint.id, caller.keyId))) {
        throw new AdminError('webhook_not_found', 'no webhook with that id (ids look like wh_…)');
      }
      return json({ id: endpoint.id, removed: true });
    }),
  );

  app.post(
    '/v1/webhooks/:id/test',
    route('keyward:webhooks:write', async (c) => {
      const endpoint = await endpointOf(c, metaOf(manager));
      await readObject(c, new Set(), true);
      const result = await sendTestEvent(endpoint, options.allowPrivate);
      return json({ id: endpoint.id, ...result });
    }),
  );
}
