import type { Express, Request, Response, Router } from 'express';
import { openApiDocument } from 'keyward/express';
import { docsSite, type MountDocsOptions, undocumented } from './site.js';

/**
 * Serves `GET /openapi.json`, the Swagger UI page `GET /docs` (from the installed
 * `swagger-ui-dist`, no CDN) and `GET /redoc` (when `redoc` is installed) on an Express 5 app. Call it before `app.use(apiKeyAuth(...))`
 * so the docs stay public; the document is built on the first request, so routes declared
 * later are in it.
 */
export function mountDocs(app: Express | Router, options: MountDocsOptions): void {
  const site = docsSite(options, (info) => openApiDocument(app, info));
  // An app routes like a Router; the cast only avoids `app.get(setting)`'s overload.
  const router = app as Router;
  router.get(
    site.openapiPath,
    undocumented((_req: Request, res: Response) => {
      const body = site.document();
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    }),
  );
  const serveAsset = undocumented((req: Request, res: Response, next: () => void) => {
    const asset = site.asset(req.baseUrl + req.path);
    if (!asset) return next();
    res.writeHead(asset.status, asset.headers);
    res.end(asset.body);
  });
  router.get(site.docsPath, serveAsset);
  router.get(`${site.docsPath}/:asset`, serveAsset);
  if (site.redocPath !== undefined) {
    router.get(site.redocPath, serveAsset);
    router.get(`${site.redocPath}/:asset`, serveAsset);
  }
}

export type { MountDocsOptions };
