import { type AuditEntry, isKeyId, type KeyManager, type KeyRecord, keyState } from '@keyward/keys';
import type { Context, Hono } from 'hono';
import type { AdminAuth, AdminCaller } from './auth.js';
import { limitParam, queryParam, readObject, SETTINGS_FIELDS, settingsOf } from './body.js';
import { idempotent } from './idempotency.js';
import { AdminError, problemFor, responseOf } from './problem.js';
import { type RootScope, rootScopesNotHeld } from './scopes.js';
import { verifyAnswer } from './verify.js';

/** A key record as the admin API shows it: the record and its state now. Never the key. */
export function keyJson(record: KeyRecord, now = Date.now()) {
  return { ...record, status: keyState(record, now) };
}

function auditJson(entry: AuditEntry) {
  return {
    seq: entry.seq,
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    keyId: entry.keyId,
    changes: entry.changes,
  };
}

const CREATE_FIELDS = new Set<string>(SETTINGS_FIELDS);
const UPDATE_FIELDS = new Set<string>(SETTINGS_FIELDS);
const ROTATE_FIELDS = new Set(['grace']);
const STATUSES = new Set(['active', 'expired', 'revoked', 'disabled']);

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });

/** A key id from the path; anything else is a 404 that does not repeat it (it may be a pasted key). */
function idParam(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!isKeyId(id)) throw new AdminError('key_not_found', 'no key with that id (ids look like key_…)');
  return id;
}

function auditCursor(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const decoded = Buffer.from(text, 'base64url').toString('latin1');
  if (!/^[1-9]\d{0,15}$/.test(decoded)) throw new AdminError('invalid_input', 'invalid cursor');
  return Number(decoded);
}

function sinceParam(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const at = /^\d{4}-\d\d-\d\d(T[\d:.]+(Z|[+-]\d\d:\d\d)?)?$/.test(text) ? new Date(text) : undefined;
  if (at === undefined || Number.isNaN(at.getTime())) {
    throw new AdminError('invalid_input', 'since must be an ISO 8601 date or date-time');
  }
  return at;
}

type Handler = (c: Context, caller: AdminCaller) => Promise<Response>;

/** Refuses (403) scopes to grant, or a key to manage, holding root scopes the caller does not. */
function mustHold(caller: AdminCaller, scopes: unknown, what: string): void {
  if (!Array.isArray(scopes)) return;
  const missing = rootScopesNotHeld(
    scopes.filter((s): s is string => typeof s === 'string'),
    caller.scopes,
  );
  if (missing.length > 0) {
    throw new AdminError(
      'root_scope_not_held',
      `${what} ${missing.join(', ')}, which the calling root key does not hold`,
    );
  }
}

/** The key at `id`, refused (403) when it holds root scopes the caller does not. */
async function manageable(manager: KeyManager, caller: AdminCaller, id: string): Promise<string> {
  mustHold(caller, (await manager.get(id)).scopes, 'the key holds');
  return id;
}

/** POST routes that change nothing and must answer the state of now: never replayed. */
const NOT_IDEMPOTENT = new Set(['/v1/keys/verify']);

/** Wraps a handler: the root scope it needs, Idempotency-Key on POST, problem details for errors. */
export type AdminRoute = (scope: RootScope, handler: Handler) => (c: Context) => Promise<Response>;

/** The route wrapper every admin route shares. */
export function adminRoute(auth: AdminAuth, manager: KeyManager): AdminRoute {
  return (scope, handler) => async (c) => {
    try {
      const caller = await auth.check(c, scope);
      if (caller instanceof Response) return caller;
      // Verify answers the key's state now: a replay could call a since revoked key valid,
      // and its body (a plaintext key) must not be fingerprinted into the store.
      if (c.req.method !== 'POST' || NOT_IDEMPOTENT.has(c.req.path)) return await handler(c, caller);
      // POSTs honour Idempotency-Key, per root key.
      const body = await c.req.arrayBuffer();
      return await idempotent(manager.store, c.req.raw, caller.keyId, body, async () => {
        try {
          return await handler(c, caller);
        } catch (error) {
          return problemFor(error);
        }
      });
    } catch (error) {
      return problemFor(error);
    }
  };
}

/** Declares the keys, verify and audit routes of the admin API on `app`. */
export function keyRoutes(app: Hono, route: AdminRoute, manager: KeyManager): void {
  const actor = (caller: AdminCaller) => ({ actor: caller.keyId });

  app.post(
    '/v1/keys/verify',
    route('keyward:keys:read', async (c) =>
      responseOf(
        await verifyAnswer(manager, c.req.header('content-type'), c.req.header('content-length'), () =>
          c.req.arrayBuffer(),
        ),
      ),
    ),
  );

  app.post(
    '/v1/keys',
    route('keyward:keys:write', async (c, caller) => {
      const body = await readObject(c, CREATE_FIELDS);
      if (body.name === undefined) throw new AdminError('invalid_input', 'a key needs a name');
      mustHold(caller, body.scopes, 'the new key would hold');
      const created = await manager.create(
        settingsOf(body) as Parameters<KeyManager['create']>[0],
        actor(caller),
      );
      // The one response (with rotate's) that carries a plaintext key.
      return json({ ...keyJson(created.record), key: created.key }, 201, {
        location: `/v1/keys/${created.record.id}`,
      });
    }),
  );

  app.get(
    '/v1/keys',
    route('keyward:keys:read', async (c) => {
      const status = queryParam(c, 'status');
      if (status !== undefined && !STATUSES.has(status)) {
        throw new AdminError('invalid_input', 'status must be one of active, expired, revoked, disabled');
      }
      const page = await manager.list({
        owner: queryParam(c, 'owner'),
        status: status as 'active' | undefined,
        scope: queryParam(c, 'scope'),
        q: queryParam(c, 'q'),
        limit: limitParam(c),
        cursor: queryParam(c, 'cursor'),
      });
      const now = Date.now();
      return json({ items: page.items.map((r) => keyJson(r, now)), nextCursor: page.nextCursor });
    }),
  );

  app.get(
    '/v1/keys/:id',
    route('keyward:keys:read', async (c) => json(keyJson(await manager.get(idParam(c))))),
  );

  app.patch(
    '/v1/keys/:id',
    route('keyward:keys:write', async (c, caller) => {
      const id = await manageable(manager, caller, idParam(c));
      const body = await readObject(c, UPDATE_FIELDS);
      mustHold(caller, body.scopes, 'the key would hold');
      return json(keyJson(await manager.update(id, settingsOf(body), actor(caller))));
    }),
  );

  app.delete(
    '/v1/keys/:id',
    route('keyward:keys:write', async (c, caller) =>
      json(keyJson(await manager.delete(await manageable(manager, caller, idParam(c)), actor(caller)))),
    ),
  );

  for (const action of ['revoke', 'disable', 'enable'] as const) {
    app.post(
      `/v1/keys/:id/${action}`,
      route('keyward:keys:write', async (c, caller) => {
        const id = await manageable(manager, caller, idParam(c));
        await readObject(c, new Set(), true);
        return json(keyJson(await manager[action](id, actor(caller))));
      }),
    );
  }

  app.post(
    '/v1/keys/:id/rotate',
    route('keyward:keys:write', async (c, caller) => {
      const id = await manageable(manager, caller, idParam(c));
      const body = await readObject(c, ROTATE_FIELDS, true);
      const grace = body.grace;
      if (grace !== undefined && typeof grace !== 'string' && typeof grace !== 'number') {
        throw new AdminError('invalid_input', 'grace must be a duration like "24h" or milliseconds');
      }
      const rotated = await manager.rotate(id, {
        ...actor(caller),
        ...(grace === undefined ? {} : { grace }),
      });
      return json(
        { ...keyJson(rotated.record), key: rotated.key, previous: keyJson(rotated.previous) },
        201,
        {
          location: `/v1/keys/${rotated.record.id}`,
        },
      );
    }),
  );

  app.get(
    '/v1/audit',
    route('keyward:audit:read', async (c) => {
      const key = queryParam(c, 'key');
      if (key !== undefined && !isKeyId(key))
        throw new AdminError('invalid_input', 'key must be a key id (key_…)');
      const limit = limitParam(c);
      const owner = queryParam(c, 'owner');
      const since = sinceParam(queryParam(c, 'since'));
      const before = auditCursor(queryParam(c, 'cursor'));
      const entries = await manager.audit({
        ...(key === undefined ? {} : { keyId: key }),
        ...(owner === undefined ? {} : { owner }),
        ...(since === undefined ? {} : { since }),
        ...(before === undefined ? {} : { before }),
        limit,
      });
      const last = entries[entries.length - 1];
      const nextCursor =
        entries.length === limit && last
          ? Buffer.from(String(last.seq), 'latin1').toString('base64url')
          : null;
      return json({ items: entries.map(auditJson), nextCursor });
    }),
  );
}
