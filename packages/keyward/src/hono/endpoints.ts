import type { RouterRoute } from 'hono/types';
import { guardOf, isPublicHandler } from '../internal/markers.js';

/**
 * Whether an `app.use`/`app.all` entry can be passed over as middleware on the way to a
 * `publicRoute()` declaration. Hono's route table does not say whether such an entry
 * answers, so only a wildcard pattern (`*`, `/api/*`) whose handler takes `next` counts
 * as middleware; anything else might be an endpoint of the same path and keeps the guard
 * on. The handler's arity alone never lifts a guard.
 */
function passesOn(route: RouterRoute): boolean {
  return route.path.includes('*') && route.handler.length >= 2;
}

/**
 * Whether the request is left to a `publicRoute()` declaration by the guard matched at
 * `at` (an index into the request's matched routes). Walks what runs after the guard, in
 * order, and stops at the first entry that may answer:
 *
 * - a marker: public if the entry after it has the same method and path, i.e. the
 *   marker's own declaration goes on to a handler;
 * - a route declared with a method (another declaration, a `protect()` handler, a
 *   route-level guard): not public, whatever its path. A protected declaration of the
 *   same method and path declared before a public one therefore keeps the guard on;
 * - an `app.use`/`app.all` entry that is not plain middleware (see {@link passesOn}):
 *   not public. Other app-wide keyward guards are passed over: each decides for itself.
 *
 * Hono cannot tell where one declaration of a method and path ends and a second one of
 * the same method and path begins, so entries after a marker count as its own: a public
 * handler that calls `next()` hands the request on without the guard (documented).
 */
export function answersPublicly(routes: readonly RouterRoute[], at: number): boolean {
  for (let i = at + 1; i < routes.length; i++) {
    const route = routes[i]!;
    if (isPublicHandler(route.handler)) {
      const own = routes[i + 1];
      return own !== undefined && own.method === route.method && own.path === route.path;
    }
    if (route.method !== 'ALL') return false;
    if (guardOf(route.handler)) continue;
    if (!passesOn(route)) return false;
  }
  return false;
}
