import type { Express, Request, RequestHandler, Response, Router } from 'express';
import { HIDDEN } from '../../core/tags.js';
import { docsSite, type MountDocsOptions } from '../../openapi/docs-site.js';
import {
  applySecurity,
  buildOpenApiDocument,
  type OpenApiDocument,
  type OpenApiInfo,
} from '../../openapi/document.js';
import { describeRoutes } from './describe.js';

export { describeRoutes };

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

export type { MountDocsOptions };

const hidden = (handler: RequestHandler): RequestHandler =>
  Object.assign(handler, { [HIDDEN]: true as const });

/**
 * Serves `GET /openapi.json` and the Swagger UI page `GET /docs` (from the installed
 * `swagger-ui-dist`, no CDN). Call it before `app.use(apiKeyAuth(...))` so the docs stay
 * public; the document is built on the first request, so routes declared later are in it.
 */
export function mountDocs(app: Express | Router, options: MountDocsOptions): void {
  const site = docsSite(options, (info) => openApiDocument(app, info));
  // An app routes like a Router; the cast only avoids `app.get(setting)`'s overload.
  const router = app as Router;
  router.get(
    site.openapiPath,
    hidden((_req: Request, res: Response) => {
      const body = site.document();
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    }),
  );
  const serveAsset = hidden((req: Request, res: Response, next) => {
    const asset = site.asset(req.baseUrl + req.path);
    if (!asset) return next();
    res.writeHead(asset.status, asset.headers);
    res.end(asset.body);
  });
  router.get(site.docsPath, serveAsset);
  router.get(`${site.docsPath}/:asset`, serveAsset);
}
