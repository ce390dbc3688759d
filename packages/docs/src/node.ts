import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpenApiDocument, OpenApiInfo } from 'keyward';
import { docsSite, type MountDocsOptions } from './site.js';

/** Options of {@link docsHandler}: the docs options plus how to build the document. */
export interface DocsHandlerOptions extends MountDocsOptions {
  /** Builds the document, e.g. `(info) => buildOpenApiDocument(info, routes)` from `keyward`. */
  document: (info: OpenApiInfo) => OpenApiDocument;
}

/**
 * For node:http and connect-style stacks: a handler that answers the document and docs
 * page requests and returns `true`, or returns `false` for any other request. Call it
 * before your guard so the docs stay public.
 */
export function docsHandler(
  options: DocsHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const site = docsSite(options, options.document);
  return function keywardDocs(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === site.openapiPath) {
      const body = site.document();
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    }
    const asset = site.asset(path);
    if (!asset) return false;
    res.writeHead(asset.status, asset.headers);
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  };
}
