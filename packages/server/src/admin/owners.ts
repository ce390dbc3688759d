import type { KeyManager } from '@keyward/keys';
import type { Context, Hono } from 'hono';
import { queryParam, readObject } from './body.js';
import { AdminError } from './problem.js';
import type { AdminRoute } from './routes.js';

const OWNER_FIELDS = [
  'rateLimit',
  'credits',
  'refill',
  'refillDay',
  'timeZone',
  'metadata',
  'maxLifetime',
  'ipAllow',
  'originAllow',
  'routes',
] as const;
const CREATE_FIELDS = new Set<string>(['name', ...OWNER_FIELDS]);
const UPDATE_FIELDS = new Set<string>(OWNER_FIELDS);

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });

/** An owner's name from the path (percent-decoded by the router); its own rules apply in the manager. */
function nameParam(c: Context): string {
  const name = c.req.param('name');
  if (name === undefined || name === '') throw new AdminError('owner_not_found');
  return name;
}

/** Declares `/v1/owners` (list, create) and `/v1/owners/{name}` (read, change, delete). */
export function ownerRoutes(app: Hono, route: AdminRoute, manager: KeyManager): void {
  app.get(
    '/v1/owners',
    route('keyward:keys:read', async (c) => {
      const limit = queryParam(c, 'limit');
      if (limit !== undefined && !/^\d{1,4}$/.test(limit)) {
        throw new AdminError('invalid_input', 'limit must be an integer from 1 to 1000');
      }
      const page = await manager.listOwners({
        ...(limit === undefined ? {} : { limit: Number(limit) }),
        ...(queryParam(c, 'cursor') === undefined ? {} : { cursor: queryParam(c, 'cursor') }),
      });
      return json({ items: page.items, nextCursor: page.nextCursor });
    }),
  );

  app.post(
    '/v1/owners',
    route('keyward:keys:write', async (c, caller) => {
      const body = await readObject(c, CREATE_FIELDS);
      if (typeof body.name !== 'string') throw new AdminError('invalid_input', 'an owner needs a name');
      const owner = await manager.createOwner(body as unknown as Parameters<KeyManager['createOwner']>[0], {
        actor: caller.keyId,
      });
      return json(owner, 201, { location: `/v1/owners/${encodeURIComponent(owner.name)}` });
    }),
  );

  app.get(
    '/v1/owners/:name',
    route('keyward:keys:read', async (c) => json(await manager.getOwner(nameParam(c)))),
  );

  app.patch(
    '/v1/owners/:name',
    route('keyward:keys:write', async (c, caller) => {
      const name = nameParam(c);
      const body = await readObject(c, UPDATE_FIELDS);
      return json(await manager.updateOwner(name, body, { actor: caller.keyId }));
    }),
  );

  app.delete(
    '/v1/owners/:name',
    route('keyward:keys:write', async (c, caller) => {
      const force = queryParam(c, 'force');
      if (force !== undefined && force !== 'true' && force !== 'false') {
        throw new AdminError('invalid_input', 'force must be true or false');
      }
      return json(await manager.deleteOwner(nameParam(c), { actor: caller.keyId, force: force === 'true' }));
    }),
  );
}
