import { subscribe } from 'node:diagnostics_channel';
import type { FastifyInstance, RouteOptions } from 'fastify';

/** A route as its `onRoute` hooks saw it, with the context (instance) that declared it. */
export interface DeclaredRoute {
  readonly context: object;
  readonly route: RouteOptions;
}

// Keyed by the app's server, which every context of one app shares.
const declared = new WeakMap<object, DeclaredRoute[]>();

/**
 * Records every route of every Fastify app created after this module loaded. An `onRoute`
 * hook of keyward itself only sees the routes declared after the plugin has loaded, which
 * misses `app.register(keyward); app.get(...)` without `await` and routes declared before
 * it: keyward enforces on those anyway (its `onRequest` hook is context-wide), and this list
 * lets it validate their `config.keyward` and document them at startup too.
 * `fastify.initialization` is Fastify's diagnostics channel for instrumentation; it is
 * published when an app is created, before any route can be declared.
 */
export function track(message: unknown): void {
  const app = (message as { fastify?: FastifyInstance } | null)?.fastify;
  if (app === undefined || declared.has(app.server)) return;
  const routes: DeclaredRoute[] = [];
  declared.set(app.server, routes);
  // Child contexts copy their parent's onRoute hooks, so this one sees every route of the app.
  app.addHook('onRoute', function recordRoute(this: FastifyInstance, route) {
    routes.push({ context: this, route });
  });
}
subscribe('fastify.initialization', track);

// An onRoute hook after this one may still throw and the route is then never added.
function routed(app: FastifyInstance, { method, url, constraints }: RouteOptions): boolean {
  const methods = Array.isArray(method) ? method : [method];
  return methods.some((m) => app.hasRoute({ method: m, url, constraints }));
}

/**
 * The routes declared in `context` and the contexts it encapsulates (they are created with
 * `Object.create(parent)`), or `undefined` when the app was created before this module
 * loaded and its routes were not recorded.
 */
export function declaredRoutes(context: FastifyInstance): RouteOptions[] | undefined {
  const routes = declared.get(context.server);
  if (routes === undefined) return undefined;
  return routes
    .filter((r) => r.context === context || Object.prototype.isPrototypeOf.call(context, r.context))
    .map((r) => r.route)
    .filter((route) => routed(context, route));
}
