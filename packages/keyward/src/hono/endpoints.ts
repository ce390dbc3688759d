import type { RouterRoute } from 'hono/types';
import { guardOf, isPublicHandler } from '../internal/markers.js';

/**
 * Whether a matched route is the one that answers. Every handler given to one
 * `app.get(path, ...)` shares its method and path, so the first route declared with a
 * method decides, whatever its handlers' arity; among `app.use`/`app.all` entries, a
 * handler taking only `c` answers (Hono's own rule), keyward's markers never do. A
 * method-specific middleware on a pattern therefore counts as the answer: that can only
 * keep a guard on (fail closed), never turn one off.
 */
export function answers(route: RouterRoute): boolean {
  if (route.method !== 'ALL') return true;
  return route.handler.length < 2 && !guardOf(route.handler) && !isPublicHandler(route.handler);
}

/**
 * Whether the route that answers was declared with `publicRoute()`: a marker counts only
 * on the same method and path as that route, never because some other matching pattern
 * (`/users/:id`, `*`) carries one.
 */
export function answersPublicly(routes: readonly RouterRoute[]): boolean {
  if (!routes.some((r) => isPublicHandler(r.handler))) return false;
  const endpoint = routes.find(answers);
  if (!endpoint) return false;
  return routes.some(
    (r) => isPublicHandler(r.handler) && r.method === endpoint.method && r.path === endpoint.path,
  );
}
