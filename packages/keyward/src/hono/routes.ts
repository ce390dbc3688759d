import type { Hono } from 'hono';
import type { RouterRoute } from 'hono/types';
import { guardOf, isHiddenHandler, isPublicHandler } from '../internal/markers.js';
import {
  applySecurity,
  buildOpenApiDocument,
  type OpenApiDocument,
  type OpenApiInfo,
  type RouteDescription,
} from '../openapi/document.js';
import { combineGuards } from '../openapi/security.js';

// biome-ignore lint/suspicious/noExplicitAny: accepts an app of any Env, schema and base path.
type AnyHono = Hono<any, any, any>;

/** Does a middleware path pattern (`*`, `/api/*`, `/users/:id`) cover a route path? */
function covers(pattern: string, path: string): boolean {
  if (pattern === '*' || pattern === '/*') return true;
  const source = pattern
    .replace(/[.+?^$()|[\]\\]/g, '\\$&')
    .replace(/:[A-Za-z0-9_]+(\{[^}]*\})?\??/g, '[^/]+')
    .replace(/\/\*$/, '(?:/.*)?')
    .replace(/\*/g, '.*');
  return new RegExp(`^${source}$`).test(path);
}

/** `/users/:id{[0-9]+}` becomes `/users/{id}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??/g, '{$1}');
}

/**
 * Lists an app's endpoints with the guards that protect them, read from the middleware
 * that {@link apiKeyAuth} registered: the declaration that enforces is the one that documents.
 */
export function describeRoutes(app: AnyHono): RouteDescription[] {
  const routes = app.routes;
  const out: RouteDescription[] = [];
  const seen = new Set<string>();
  routes.forEach((route, index) => {
    // An ALL route answers every method: it has no single OpenAPI operation to document.
    if (route.method === 'ALL' || route.path.includes('*')) return;
    const id = `${route.method} ${route.path}`;
    if (seen.has(id)) return;
    seen.add(id);
    // Every handler of one declaration shares its method and path.
    const declaration = routes.filter((r) => r.method === route.method && r.path === route.path);
    if (declaration.some((r) => isHiddenHandler(r.handler))) return;
    const applies = (r: RouterRoute) =>
      (r.method === 'ALL' || r.method === route.method) && covers(r.path, route.path);
    // As at request time: publicRoute() lifts the middleware guards only when it comes
    // first and goes on to a handler; guards of the route itself (protect(), a route-level
    // apiKeyAuth) still run.
    const isPublic = declaration.length > 1 && isPublicHandler(declaration[0]!.handler);
    const earlier = isPublic
      ? []
      : routes.slice(0, index).flatMap((r) => {
          const guard = guardOf(r.handler);
          return guard && applies(r) ? [guard] : [];
        });
    const own = declaration.flatMap((r) => {
      const guard = guardOf(r.handler);
      return guard ? [guard] : [];
    });
    out.push({
      method: route.method.toLowerCase(),
      path: toOpenApiPath(route.path),
      guard: combineGuards([...earlier, ...own]),
    });
  });
  return out;
}

/** keyward's own OpenAPI 3.1 document for a Hono app. Throws on a scheme-name clash. */
export function openApiDocument(app: AnyHono, info: OpenApiInfo): OpenApiDocument {
  return buildOpenApiDocument(info, describeRoutes(app));
}

/**
 * Adds keyward's `security` and `securitySchemes` to a document made elsewhere (e.g.
 * `app.getOpenAPI31Document(...)` of `@hono/zod-openapi`), in place; typed as you passed it.
 */
export function withSecurity<D extends object = OpenApiDocument>(app: AnyHono, document: D): D {
  // Other generators type their documents their own way; only paths and components are touched.
  return applySecurity(document as unknown as OpenApiDocument, describeRoutes(app)) as unknown as D;
}
