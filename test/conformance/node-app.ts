import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGuard } from 'keyward';
import { apiKeyAuth, authenticateRequest, principalOf, setAuthHeaders, writeFailure } from 'keyward/node';
import {
  type ConformanceApp,
  defaultVerify,
  OWN_CACHE_CONTROL,
  optionalSchemes,
  schemes,
  type TestPrincipal,
} from './fixture.js';
import { listenNode } from './serve-node.js';

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A plain node:http app: the middleware on some routes, `authenticateRequest` on others. */
export const nodeApp: ConformanceApp = {
  name: 'node:http',
  async start(options) {
    const verify = options.verify ?? defaultVerify();
    const { cacheControl } = options;
    const guard = createGuard({ schemes: schemes(options.header, options.bearer), verify, cacheControl });
    const admin = guard.require('admin');
    const requireKey = apiKeyAuth(guard);
    const optional = apiKeyAuth(
      createGuard({ schemes: optionalSchemes(options.header, options.bearer), verify, cacheControl }),
    );
    let bodyReads = 0;

    return listenNode((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const route = `${req.method} ${path}`;
      if (route === 'GET /health') return json(res, 200, { status: 'ok' });
      if (route === 'GET /stats') return json(res, 200, { bodyReads });
      if (route === 'GET /secure-data') {
        return requireKey(req, res, () => {
          const principal = principalOf<TestPrincipal>(req)!;
          json(res, 200, { message: 'You have access to secure data', principal: principal.id });
        });
      }
      if (route === 'GET /cached-data') {
        return requireKey(req, res, () =>
          json(res, 200, { message: 'cacheable' }, { 'cache-control': OWN_CACHE_CONTROL }),
        );
      }
      if (route === 'GET /admin-data') {
        const settle = (result: Awaited<ReturnType<typeof authenticateRequest<TestPrincipal>>>) => {
          if (!result.ok) return writeFailure(res, admin.respond(result.failure));
          setAuthHeaders(res, result);
          json(res, 200, { message: 'You have access to admin data' });
        };
        const result = authenticateRequest(admin, req);
        if (result instanceof Promise) result.then(settle);
        else settle(result);
        return;
      }
      if (route === 'GET /optional') {
        return optional(req, res, () =>
          json(res, 200, { principal: principalOf<TestPrincipal>(req)?.id ?? null }),
        );
      }
      if (route === 'POST /echo') {
        return requireKey(req, res, async () => {
          bodyReads++;
          let body: unknown;
          try {
            body = JSON.parse(await readBody(req));
          } catch {
            return json(res, 400, { detail: 'Invalid JSON body' });
          }
          json(res, 200, { received: body });
        });
      }
      json(res, 404, { detail: 'Not Found' });
    });
  },
};
