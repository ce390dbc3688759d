import type { Context, Hono } from 'hono';
import { openApiDocument, publicRoute } from 'keyward/hono';
import { docsSite, type MountDocsOptions, undocumented } from './site.js';

// biome-ignore lint/suspicious/noExplicitAny: accepts an app of any Env, schema and base path.
type AnyHono = Hono<any, any, any>;

/**
 * Serves `GET /openapi.json`, the interactive `GET /docs` page (Swagger UI from the
 * installed package, no CDN) and `GET /redoc` (when `redoc` is installed) on a Hono app. Both stay public and out of the document.
 * Call it after the routes are declared.
 *
 * @example
 * ```ts
 * mountDocs(app, { info: { title: 'My API', version: '1.0.0' } });
 * ```
 */
export function mountDocs(app: AnyHono, options: MountDocsOptions): void {
  const site = docsSite(options, (info) => openApiDocument(app, info));
  const serveAsset = (c: Context, path: string) => {
    const asset = site.asset(path);
    if (!asset) return c.notFound();
    return new Response(asset.body as BodyInit, { status: asset.status, headers: asset.headers });
  };
  app.get(
    site.openapiPath,
    publicRoute(),
    undocumented((c: Context) =>
      c.body(site.document(), 200, { 'content-type': 'application/json; charset=utf-8' }),
    ),
  );
  app.get(
    site.docsPath,
    publicRoute(),
    undocumented((c: Context) => serveAsset(c, site.docsPath)),
  );
  app.get(
    `${site.docsPath}/:asset`,
    publicRoute(),
    undocumented((c: Context) => serveAsset(c, c.req.path)),
  );
  const redoc = site.redocPath;
  if (redoc !== undefined) {
    app.get(
      redoc,
      publicRoute(),
      undocumented((c: Context) => serveAsset(c, redoc)),
    );
    app.get(
      `${redoc}/:asset`,
      publicRoute(),
      undocumented((c: Context) => serveAsset(c, c.req.path)),
    );
  }
}

export type { MountDocsOptions };
