import type { Express, Request, RequestHandler, Response, Router } from 'express';
import { KeywardConfigError } from '../../core/errors.js';
import type { Guard } from '../../core/guard.js';
import { guardOf, HIDDEN, isHiddenHandler } from '../../core/tags.js';
import { docsPage } from '../../openapi/docs-page.js';
import {
  applySecurity,
  buildOpenApiDocument,
  type OpenApiDocument,
  type OpenApiInfo,
  type RouteDescription,
} from '../../openapi/document.js';
import { combineGuards } from '../../openapi/security.js';

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
}

const stackOf = (handle: unknown): Layer[] | undefined => {
  const stack = (handle as { stack?: unknown } | null)?.stack;
  return Array.isArray(stack) ? (stack as Layer[]) : undefined;
};

function join(base: string, path: string): string {
  const joined = base + (path === '/' ? '' : path);
  return joined === '' ? '/' : joined;
}

/** Express 5 route syntax (`/users/:id`, `/files/*rest`, `/a{/:b}`) to OpenAPI (`/users/{id}`). */
function toOpenApiPath(path: string): string {
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
function covers(active: Active, fullPath: string): boolean {
  if (!fullPath.startsWith(active.base)) return false;
  return Boolean(active.layer.match(fullPath.slice(active.base.length) || '/'));
}

function walk(stack: Layer[], base: string, inherited: readonly Active[], out: RouteDescription[]): void {
  const active = [...inherited];
  for (const layer of stack) {
    if (layer.route) {
      describeRoute(layer.route, base, active, out);
      continue;
    }
    const guard = guardOf(layer.handle);
    if (guard) {
      active.push({ guard, layer, base });
      continue;
    }
    const nested = stackOf(layer.handle);
    if (!nested) continue;
    if (layer.rawPath === undefined) {
      throw new KeywardConfigError(
        'describeRoutes needs the mount paths of routers, which Express 5 records from router 2.3 on; update express',
      );
    }
    for (const mount of paths(layer.rawPath)) walk(nested, join(base, mount), active, out);
  }
}

function describeRoute(route: Route, base: string, active: readonly Active[], out: RouteDescription[]): void {
  if (route.stack.some((l) => isHiddenHandler(l.handle))) return;
  const methods = Object.keys(route.methods).filter((m) => m !== '_all' && route.methods[m]);
  for (const path of paths(route.path)) {
    const full = join(base, path);
    for (const method of methods) {
      const guards = active.filter((a) => covers(a, full)).map((a) => a.guard);
      for (const l of route.stack) {
        const guard = guardOf(l.handle);
        if (guard && (l.method === undefined || l.method === method)) guards.push(guard);
      }
      out.push({ method, path: toOpenApiPath(full), guard: combineGuards(guards) });
    }
  }
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

/** keyward's own OpenAPI 3.1 document for an Express app. Throws on a scheme-name clash. */
export function openApiDocument(app: Express | Router, info: OpenApiInfo): OpenApiDocument {
  return buildOpenApiDocument(info, describeRoutes(app));
}

/**
 * Adds `security` and `securitySchemes` to a document made elsewhere (swagger-jsdoc, tsoa,
 * by hand), in place; typed as you passed it.
 */
export function withSecurity<D extends object = OpenApiDocument>(app: Express | Router, document: D): D {
  return applySecurity(document as unknown as OpenApiDocument, describeRoutes(app)) as unknown as D;
}

export interface MountDocsOptions {
  info: OpenApiInfo;
  /** Default `/openapi.json`. */
  openapiPath?: string;
  /** Default `/docs`. */
  docsPath?: string;
  /** Post-process the generated document (add schemas, servers, ...). */
  transform?: (document: OpenApiDocument) => OpenApiDocument;
}

const hidden = (handler: RequestHandler): RequestHandler =>
  Object.assign(handler, { [HIDDEN]: true as const });

/**
 * Serves `GET /openapi.json` and the Swagger UI page `GET /docs` (from the installed
 * `swagger-ui-dist`, no CDN). Call it before `app.use(apiKeyAuth(...))` so the docs stay
 * public; the document is built on the first request, so routes declared later are in it.
 */
export function mountDocs(app: Express | Router, options: MountDocsOptions): void {
  const openapiPath = options.openapiPath ?? '/openapi.json';
  const docsPath = options.docsPath ?? '/docs';
  const assets = docsPage({ docsPath, openapiPath, title: options.info.title });
  let body: Buffer | undefined;
  // An app routes like a Router; the cast only avoids `app.get(setting)`'s overload.
  const router = app as Router;
  router.get(
    openapiPath,
    hidden((_req: Request, res: Response) => {
      body ??= Buffer.from(
        JSON.stringify((options.transform ?? ((d) => d))(openApiDocument(app, options.info))),
      );
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': body.length,
      });
      res.end(body);
    }),
  );
  const serveAsset = hidden((req: Request, res: Response, next) => {
    const asset = assets(req.baseUrl + req.path);
    if (!asset) return next();
    res.writeHead(asset.status, asset.headers);
    res.end(asset.body);
  });
  router.get(docsPath, serveAsset);
  router.get(`${docsPath}/:asset`, serveAsset);
}
