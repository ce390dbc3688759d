import type { RouterRoute } from 'hono/types';
import { isPublicHandler } from '../../core/tags.js';

/**
 * Hono's own rule (hono/dev): a handler taking `(c, next)` is middleware; the first other
 * handler among the matched routes is the one that answers.
 */
export function isEndpoint(route: RouterRoute): boolean {
  // `protect(guard, handler)` is an endpoint that carries its guard; `apiKeyAuth` and
  // `publicRoute` are middleware.
  return route.handler.length < 2 && !isPublicHandler(route.handler);
}

/**
 * Whether the route that answers was declared with `publicRoute()`: a marker counts only
 * on the same method and path as that route, never because some other matching pattern
 * (`/users/:id`, `*`) carries one.
 */
export function answersPublicly(routes: readonly RouterRoute[]): boolean {
  if (!routes.some((r) => isPublicHandler(r.handler))) return false;
  const endpoint = routes.find(isEndpoint);
  if (!endpoint) return false;
  return routes.some(
    (r) => isPublicHandler(r.handler) && r.method === endpoint.method && r.path === endpoint.path,
  );
}
