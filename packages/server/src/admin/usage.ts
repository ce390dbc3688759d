import type { KeyManager, UsageQuery } from '@keyward/keys';
import { isKeyId } from '@keyward/keys';
import type { Context, Hono } from 'hono';
import { parseTime } from '../cli/usage.js';
import { queryParam } from './body.js';
import { AdminError } from './problem.js';
import type { AdminRoute } from './routes.js';

const json = (body: unknown) =>
  new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });

/** `since`/`until` as `keyward usage` takes them: a duration back from now (24h, 7d) or an ISO 8601 time. */
function timeParam(c: Context, name: string): number | undefined {
  const text = queryParam(c, name);
  if (text === undefined) return undefined;
  try {
    return parseTime(text);
  } catch {
    throw new AdminError(
      'invalid_input',
      `${name} must be a duration back from now (24h, 7d) or an ISO 8601 time`,
    );
  }
}

function rangeOf(c: Context): Pick<UsageQuery, 'since' | 'until' | 'granularity'> {
  const granularity = queryParam(c, 'granularity');
  if (granularity !== undefined && !['minute', 'hour', 'day'].includes(granularity)) {
    throw new AdminError('invalid_input', 'granularity must be minute, hour or day');
  }
  const since = timeParam(c, 'since');
  const until = timeParam(c, 'until');
  return {
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(granularity === undefined ? {} : { granularity: granularity as UsageQuery['granularity'] & string }),
  };
}

/**
 * `GET /v1/usage`, `GET /v1/keys/{id}/usage` and `GET /v1/usage/top`: the same query
 * parameters and JSON as `keyward usage --json` and `keyward usage top --json`.
 */
export function usageRoutes(app: Hono, route: AdminRoute, manager: KeyManager): void {
  app.get(
    '/v1/usage',
    route('keyward:usage:read', async (c) => {
      const key = queryParam(c, 'key');
      const owner = queryParam(c, 'owner');
      if (key !== undefined && owner !== undefined)
        throw new AdminError('invalid_input', 'give key or owner, not both');
      if (key !== undefined && !isKeyId(key))
        throw new AdminError('invalid_input', 'key must be a key id (key_…)');
      return json(
        await manager.usage({
          ...(key === undefined ? {} : { key }),
          ...(owner === undefined ? {} : { owner }),
          ...rangeOf(c),
        }),
      );
    }),
  );

  app.get(
    '/v1/usage/top',
    route('keyward:usage:read', async (c) => {
      const by = queryParam(c, 'by');
      if (by !== undefined && by !== 'valid' && by !== 'refused') {
        throw new AdminError('invalid_input', 'by must be valid or refused');
      }
      const group = queryParam(c, 'group');
      if (group !== undefined && group !== 'key' && group !== 'owner') {
        throw new AdminError('invalid_input', 'group must be key or owner');
      }
      const limit = queryParam(c, 'limit');
      if (limit !== undefined && !/^\d{1,4}$/.test(limit)) {
        throw new AdminError('invalid_input', 'limit must be an integer from 1 to 1000');
      }
      const { since, until } = rangeOf(c);
      return json(
        await manager.usageTop({
          ...(since === undefined ? {} : { since }),
          ...(until === undefined ? {} : { until }),
          ...(by === undefined ? {} : { by }),
          ...(group === undefined ? {} : { group: group as 'key' | 'owner' }),
          ...(limit === undefined ? {} : { limit: Number(limit) }),
        }),
      );
    }),
  );

  app.get(
    '/v1/keys/:id/usage',
    route('keyward:usage:read', async (c) => {
      const id = c.req.param('id') ?? '';
      if (!isKeyId(id)) throw new AdminError('key_not_found', 'no key with that id (ids look like key_…)');
      await manager.get(id);
      return json(await manager.usage({ key: id, ...rangeOf(c) }));
    }),
  );
}
