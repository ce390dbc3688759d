import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import { type FailureResponse, KeywardConfigError } from '../../core/errors.js';
import type { AuthResult, Guard, GuardOptions } from '../../core/guard.js';
import { isGuard } from '../../core/tags.js';
import { SecuritySchemeRegistry } from '../../openapi/security.js';
import { resolveGuard, unavailable } from '../node/auth.js';
import { failureBody, successHeaders } from '../node/respond.js';
import { nodeKeySource } from '../node/source.js';
import { MARK, markFor, patchSwagger } from './swagger.js';

/**
 * Declare your principal type once to type `request.principal`:
 *
 * ```ts
 * declare module 'keyward/fastify' {
 *   interface Register { principal: ApiClient }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by users through declaration merging.
export interface Register {}

/** `request.principal`'s type: `Register['principal']`, or `unknown` until declared. */
export type FastifyPrincipal = Register extends { principal: infer P } ? P : unknown;

/**
 * A route's `config.keyward`: `false` public, `true` the plugin's guard (needed with
 * `global: false`), another guard (e.g. `guard.require('admin')`), or extra scopes.
 */
// biome-ignore lint/suspicious/noExplicitAny: a route may name a guard of any principal type.
export type RouteAuth = boolean | Guard<any> | { scopes: readonly string[] };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** keyward for this route: `false` public, `true`, a guard, or `{ scopes }`. */
    keyward?: RouteAuth;
  }
  interface FastifyRequest {
    /** Who the API key belongs to; `undefined` on public routes and for optional auth without a key. */
    principal?: FastifyPrincipal;
  }
}

export interface KeywardFastifyOptions<P = unknown> {
  /** The guard (or its options) for the routes of this context. */
  guard: Guard<P> | GuardOptions<P>;
  /**
   * `true` (default): every route declared after the plugin in this context and its
   * children is guarded unless its `config.keyward` is `false`. `false`: only routes with
   * a `config.keyward` are.
   */
  global?: boolean;
  /** Name of @fastify/swagger's decorator, if you changed it. Default `swagger`. */
  swaggerDecorator?: string;
}

interface RouteState {
  readonly guards: Guard[];
}
const STATE: unique symbol = Symbol('keyward.route');
type Tracked = RouteOptions & { [STATE]?: RouteState };

function sendFailure(reply: FastifyReply, response: FailureResponse): void {
  reply.code(response.status);
  for (const name in response.headers) reply.header(name, response.headers[name]);
  // A Buffer is sent as it is: a string would get "; charset=utf-8" appended to its type.
  reply.send(failureBody(response));
}

/** Applies one guard's result; false when the request was answered. */
function accept(
  guard: Guard,
  result: AuthResult<unknown>,
  request: FastifyRequest,
  reply: FastifyReply,
): boolean {
  if (!result.ok) {
    sendFailure(reply, guard.respond(result.failure));
    return false;
  }
  if (result.principal !== undefined) request.principal = result.principal as FastifyPrincipal;
  const headers = successHeaders(result);
  if (headers) for (const name in headers) reply.header(name, headers[name]);
  return true;
}

// Callback style and no promise for sync verifiers: an async hook would cost one per request.
function check(
  guards: readonly Guard[],
  from: number,
  prior: { family: object; result: AuthResult<unknown> } | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
  done: () => void,
): void {
  for (let i = from; i < guards.length; i++) {
    const guard = guards[i]!;
    let result: AuthResult<unknown>;
    if (prior !== undefined && prior.family === guard.family) {
      // Same family (a guard and its `require(...)`): the key was verified, check scopes only.
      result = guard.authorize(prior.result);
    } else {
      const pending = guard.authenticate(nodeKeySource(request.raw));
      if (pending instanceof Promise) {
        pending.then(
          (settled) => {
            if (accept(guard, settled, request, reply))
              check(guards, i + 1, { family: guard.family, result: settled }, request, reply, done);
          },
          () => sendFailure(reply, unavailable(guard)),
        );
        return;
      }
      result = pending;
    }
    if (!accept(guard, result, request, reply)) return;
    prior = guards.length > i + 1 ? { family: guard.family, result } : undefined;
  }
  done();
}

function hookFor(state: RouteState): onRequestHookHandler {
  return function keywardOnRequest(request, reply, done) {
    check(state.guards, 0, undefined, request, reply, done);
  };
}

function routeGuard(setting: unknown, guard: Guard, route: RouteOptions): Guard {
  if (setting === undefined || setting === true) return guard;
  if (isGuard(setting)) return setting;
  const scopes = (setting as { scopes?: unknown } | null)?.scopes;
  if (Array.isArray(scopes)) return guard.require(...scopes);
  throw new KeywardConfigError(
    `config.keyward of ${String(route.method)} ${route.url} must be true, false, a guard or { scopes: [...] }`,
  );
}

// One registry per app (its server): two different schemes under one schemeName fail when
// the second route is declared, not later in a silently merged document.
const registries = new WeakMap<object, SecuritySchemeRegistry>();

function protect(route: Tracked, guard: Guard, global: boolean, registry: SecuritySchemeRegistry): void {
  const setting: unknown = route.config?.keyward;
  if (setting === false || (setting === undefined && !global)) return;
  const chosen = routeGuard(setting, guard, route);
  let state = route[STATE];
  if (state === undefined) {
    state = { guards: [] };
    route[STATE] = state;
    const own = route.onRequest;
    // First among the route's own hooks: nothing of the route runs before the key is checked.
    route.onRequest = [hookFor(state), ...(own === undefined ? [] : Array.isArray(own) ? own : [own])];
  }
  if (!state.guards.includes(chosen)) state.guards.push(chosen);
  registry.addGuard(chosen);
  // A copy: a schema object shared by several routes must not carry one route's security.
  route.schema = { ...route.schema, [MARK]: markFor(state.guards) } as RouteOptions['schema'];
}

const plugin: FastifyPluginCallback<KeywardFastifyOptions> = (fastify: FastifyInstance, options, done) => {
  if (options === null || typeof options !== 'object' || options.guard === undefined) {
    throw new KeywardConfigError('keyward: pass { guard } (a guard or the options to create one)');
  }
  const guard = resolveGuard(options.guard);
  const global = options.global ?? true;
  if (typeof global !== 'boolean') throw new KeywardConfigError('keyward: global must be a boolean');
  if (!fastify.hasRequestDecorator('principal')) fastify.decorateRequest('principal', undefined);
  let registry = registries.get(fastify.server);
  if (registry === undefined) {
    registry = new SecuritySchemeRegistry();
    registries.set(fastify.server, registry);
  }
  const schemes = registry;
  fastify.addHook('onRoute', (route) => protect(route as Tracked, guard as Guard, global, schemes));
  fastify.addHook('onReady', (ready) => {
    patchSwagger(fastify, options.swaggerDecorator);
    ready();
  });
  done();
};

/**
 * The keyward Fastify 5 plugin. Guards routes in `onRequest`, before the body is read:
 *
 * ```ts
 * await app.register(keyward, { guard });
 * app.get('/health', { config: { keyward: false } }, () => ({ status: 'ok' }));
 * app.get('/admin', { config: { keyward: { scopes: ['admin'] } } }, handler);
 * ```
 *
 * Register it before the routes it guards; registered inside a plugin it guards that
 * plugin's routes only. `request.principal` holds the principal. With @fastify/swagger
 * registered, guarded operations get `security` and the document `securitySchemes`.
 */
export const keyward = fp(plugin, { fastify: '5.x', name: 'keyward' });
