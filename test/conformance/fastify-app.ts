import Fastify from 'fastify';
import { createGuard } from 'keyward';
import { keyward } from 'keyward/fastify';
import {
  type ConformanceApp,
  defaultVerify,
  OWN_CACHE_CONTROL,
  optionalSchemes,
  schemes,
  type TestPrincipal,
} from './fixture.js';

declare module 'keyward/fastify' {
  interface Register {
    principal: TestPrincipal;
  }
}

export const fastifyApp: ConformanceApp = {
  name: 'fastify',
  async start(options) {
    const verify = options.verify ?? defaultVerify();
    const { cacheControl } = options;
    const guard = createGuard({ schemes: schemes(options.header, options.bearer), verify, cacheControl });
    const optional = createGuard({
      schemes: optionalSchemes(options.header, options.bearer),
      verify,
      cacheControl,
    });
    let bodyReads = 0;
    const app = Fastify();
    // Counts bodies actually read: the parser runs only after onRequest let the request through.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
      bodyReads++;
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(Object.assign(new Error('Invalid JSON body'), { statusCode: 400 }), undefined);
      }
    });
    await app.register(keyward, { guard });
    app.get('/health', { config: { keyward: false } }, async () => ({ status: 'ok' }));
    app.get('/stats', { config: { keyward: false } }, async () => ({ bodyReads }));
    app.get('/secure-data', async (request) => ({
      message: 'You have access to secure data',
      principal: request.principal!.id,
    }));
    app.get('/cached-data', async (_request, reply) => {
      reply.header('cache-control', OWN_CACHE_CONTROL);
      return { message: 'cacheable' };
    });
    // The operation id keyward's own document would give the route (for key restrictions).
    const admin = { config: { keyward: { scopes: ['admin'] } }, schema: { operationId: 'get_admin_data' } };
    app.get('/admin-data', admin, async () => ({
      message: 'You have access to admin data',
    }));
    app.get('/optional', { config: { keyward: optional } }, async (request) => ({
      principal: request.principal?.id ?? null,
    }));
    app.post('/echo', async (request) => ({ received: request.body }));
    app.setNotFoundHandler((_request, reply) => {
      reply.code(404).send({ detail: 'Not Found' });
    });
    app.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) reply.code(400).send({ detail: 'Invalid JSON body' });
      else reply.code(500).send({ detail: 'Internal Server Error' });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
};
