// describeRoutes: what Express runs for each endpoint, read from its router stack in order.
import type { Express, Router } from 'express';
import { KeywardConfigError } from '../core/failures.js';
import type { Guard } from '../core/guard.js';
import { guardOf, isHiddenHandler } from '../internal/markers.js';
import type { RouteDescription } from '../openapi/document.js';
import { combineGuards } from '../openapi/security.js';

// The parts of Express 5's router (the `router` package) that are read. `rawPath` is the
// path a layer was declared with (router >= 2.3, installed with Express 5.2+).
interface Layer {
  handle: unknown;
  route?: Route;
  method?: string;
  rawPath?: unknown;
  match(path: string): unknown;
}
interface Route {
  path: unknown;
  stack: Layer[];
  methods: Record<string, boolean | undefined>;
}
interface Active {
  guard: Guard;
  layer: Layer;
  base: string;
  /** Set for a route that only guards (`app.get(path, apiKeyAuth(g))`): it runs for that method only. */
  method?: string;
}

const stackOf = (handle: unknown): Layer[] | undefined => {
  const stack = (handle as { stack?: unknown } | null)?.stack;
  return Array.isArray(stack) ? (stack as Layer[]) : undefined;
};

export function join(base: string, path: string): string {
  const joined = base + (path === '/' ? '' : path);
  return joined === '' ? '/' : joined;
}

/** Express 5 route syntax (`/users/:id`, `/files/*rest`, `/a{/:b}`) to OpenAPI (`/users/{id}`). */
export function toOpenApiPath(path: string): string {
  return path
    .replace(/(?<!\\)[{}]/g, '')
    .replace(/[:*](?:"([^"]+)"|([A-Za-z_$][\w$]*))/g, (_m, quoted, plain) => `{${quoted ?? plain}}`)
    .replace(/\\(.)/g, '$1');
}

function paths(raw: unknown): string[] {
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw)) return raw.flat(Infinity).filter((p): p is string => typeof p === 'string');
  return []; // a RegExp path cannot be documented
}

/** Does a guard layer, declared in a router mounted at `base`, run for this full route path? */
function covers(active: Active, fullPath: string, method: string): boolean {
  const { base } = active;
  if (active.method !== undefined && active.method !== method) return false;
  // `/api` covers `/api` and `/api/...`, never `/apix`.
  if (fullPath !== base && !fullPath.startsWith(base.endsWith('/') ? base : `${base}/`)) return false;
  return Boolean(active.layer.match(fullPath.slice(base.length) || '/'));
}

/** Walks a stack; returns the guards it activated, which stay active after it (see below). */
function walk(stack: Layer[], base: string, inherited: readonly Active[], out: RouteDescription[]): Active[] {
  const active = [...inherited];
  const added: Active[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const guarding = describeRoute(layer, layer.route, base, active, out);
      active.push(...guarding);
      added.push(...guarding);
      continue;
    }
    const guard = guardOf(layer.handle);
    if (guard) {
      const entry = { guard, layer, base };
      active.push(entry);
      added.push(entry);
      continue;
    }
    const nested = stackOf(layer.handle);
    if (!nested) continue;
    if (layer.rawPath === undefined) {
      throw new KeywardConfigError(
        'describeRoutes needs the mount paths of routers, which Express 5 records from router 2.3 on; update express',
      );
    }
    for (const mount of paths(layer.rawPath)) {
      // A request that enters a router and is not answered there comes out having passed
      // its guards: `router.use(guard)` also guards the routes declared after the router.
      // A router's base never ends with `/`: mounted at `/`, its `/x` is `/x`, not `//x`.
      const inner = walk(nested, join(base, mount).replace(/\/$/, ''), active, out);
      active.push(...inner);
      added.push(...inner);
    }
  }
  return added;
}

const isGuardLayer = (l: Layer): boolean => guardOf(l.handle) !== undefined;

/**
 * The guards of a route's own stack that run for `method` before its last handler. One
 * declared after every handler (`app.get('/x', handler, apiKeyAuth(g))`, or
 * `route.get(handler).all(apiKeyAuth(g))`) never runs before the request is answered.
 */
function routeGuards(layers: readonly Layer[]): Guard[] {
  const last = layers.findLastIndex((l) => !isGuardLayer(l));
  return layers.slice(0, Math.max(last, 0)).flatMap((l) => guardOf(l.handle) ?? []);
}

/**
 * Describes a route's operations, and returns what it adds to the active guards: a route
 * that only guards for a method (`app.all('/admin/*rest', apiKeyAuth(g))`) answers nothing
 * and acts as middleware for the routes after it.
 */
function describeRoute(
  layer: Layer,
  route: Route,
  base: string,
  active: readonly Active[],
  out: RouteDescription[],
): Active[] {
  if (route.stack.some((l) => isHiddenHandler(l.handle))) return [];
  const guarding: Active[] = [];
  const only = (layers: readonly Layer[], method?: string) => {
    for (const l of layers) guarding.push({ guard: guardOf(l.handle)!, layer, base, method });
  };
  const answered: [string, Layer[]][] = [];
  for (const method of Object.keys(route.methods)) {
    if (method === '_all' || !route.methods[method]) continue;
    const layers = route.stack.filter((l) => l.method === undefined || l.method === method);
    if (layers.every(isGuardLayer)) only(layers, method);
    else answered.push([method, layers]);
  }
  for (const path of paths(route.path)) {
    const full = join(base, path);
    for (const [method, layers] of answered) {
      const guards = active.filter((a) => covers(a, full, method)).map((a) => a.guard);
      guards.push(...routeGuards(layers));
      out.push({ method, path: toOpenApiPath(full), guard: combineGuards(guards) });
    }
  }
  const common = route.stack.filter((l) => l.method === undefined);
  if (route.methods._all && common.every(isGuardLayer)) only(common);
  return guarding;
}

/**
 * Lists an Express 5 app's (or router's) endpoints with the guards that protect them, read
 * from its router stack: the `apiKeyAuth` middleware that enforces is what documents.
 * Follows mounted `Router`s in order (a route declared before `app.use(apiKeyAuth(...))` is
 * public); mounted sub-apps and RegExp paths are not followed.
 */
export function describeRoutes(app: Express | Router): RouteDescription[] {
  const root = 'router' in app && typeof app.router === 'function' ? app.router : app;
  const stack = stackOf(root);
  if (!stack) throw new KeywardConfigError('describeRoutes expects an Express 5 app or Router');
  const out: RouteDescription[] = [];
  walk(stack, '', [], out);
  const seen = new Set<string>();
  return out.filter((r) => {
    const id = `${r.method} ${r.path}`;
    if (seen.has(id)) return false; // Express answers with the first match
    seen.add(id);
    return true;
  });
}
