import type { DocsHandlerOptions } from './node.js';
import { docsSite } from './site.js';

/**
 * For fetch-style servers (Deno, Bun, Cloudflare-style handlers on Node, `@hono/node-server`
 * without Hono): answers the document, the Swagger UI page, the ReDoc page and their assets
 * with a `Response`, or `undefined` for any other request. Call it before your guard so the
 * docs stay public. Reads the packages' files from disk: Node (or a runtime with `node:fs`).
 *
 * @example
 * ```ts
 * const docs = docsFetchHandler({ info, document: (info) => buildOpenApiDocument(info, routes) });
 * export default { fetch: (request: Request) => docs(request) ?? guarded(request) };
 * ```
 */
export function docsFetchHandler(options: DocsHandlerOptions): (request: Request) => Response | undefined {
  const site = docsSite(options, options.document);
  return function keywardDocs(request) {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    const path = new URL(request.url).pathname;
    const head = request.method === 'HEAD';
    if (path === site.openapiPath) {
      return new Response(head ? null : site.document(), {
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
    }
    const asset = site.asset(path);
    if (!asset) return undefined;
    return new Response(head ? null : (asset.body as BodyInit), {
      status: asset.status,
      headers: asset.headers,
    });
  };
}

export type { DocsHandlerOptions };
