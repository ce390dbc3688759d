import type { FastifyInstance, FastifyPluginCallback, FastifyRequest, RouteOptions } from 'fastify';
import { KeywardConfigError } from '../core/failures.js';
import type { Guard, GuardOptions } from '../core/guard.js';
import { resolveGuard } from '../internal/http/guard.js';
import { isGuard } from '../internal/markers.js';
import { SecuritySchemeRegistry } from '../openapi/security.js';
import { type ChooseGuard, onRequestHook } from './hook.js';
import { declaredRoutes } from './routes.js';
import { markRoute } from './swagger.js';
import type { FastifyPrincipal } from './types.js';

export interface KeywardFastifyOptions<P = unknown> {
  /** The guard (or its options) for the routes of this context. */
  guard: Guard<P> | GuardOptions<P>;
  /**
   * `true` (default): every route of this context and its children, declared before or
   * after the plugin, is guarded unless its `config.keyward` is `false`. `false`: only
   * routes with a `config.keyward` are.
   */
  global?: boolean;
}

/** Resolves `config.keyward` against the plugin's guard; `{ scopes }` guards are made once per setting. */
function chooser(guard: Guard, global: boolean): ChooseGuard {
  const narrowed = new WeakMap<object, Guard>();
  return (setting) => {
    if (setting === undefined) return global ? guard : null;
    if (setting === false) return null;
    if (setting === true) return guard;
    if (isGuard(setting)) return setting;
    const scopes = (setting as { scopes?: unknown } | null)?.scopes;
    if (!Array.isArray(scopes)) {
      throw new KeywardConfigError('must be true, false, a guard or { scopes: [...] }');
    }
    const key = setting as object;
    let chosen = narrowed.get(key);
    if (chosen === undefined) {
      chosen = guard.require(...(scopes as string[]));
      narrowed.set(key, chosen);
    }
    return chosen;
  };
}

/** The guard of a declared route, with the route named in the error when its config is wrong. */
function routeGuard(choose: ChooseGuard, route: RouteOptions): Guard | null {
  try {
    return choose(route.config?.keyward);
  } catch (error) {
    if (!(error instanceof KeywardConfigError)) throw error;
    throw new KeywardConfigError(`config.keyward of ${String(route.method)} ${route.url}: ${error.message}`);
  }
}

// One registry per app (its server): two different schemes under one schemeName fail when
// the second route is declared, not later in a silently merged document.
const registries = new WeakMap<object, SecuritySchemeRegistry>();

function registryOf(fastify: FastifyInstance): SecuritySchemeRegistry {
  let registry = registries.get(fastify.server);
  if (registry === undefined) {
    registry = new SecuritySchemeRegistry();
    registries.set(fastify.server, registry);
  }
  return registry;
}

function setup(fastify: FastifyInstance, options: KeywardFastifyOptions): void {
  if (options === null || typeof options !== 'object' || options.guard === undefined) {
    throw new KeywardConfigError('keyward: pass { guard } (a guard or the options to create one)');
  }
  const guard = resolveGuard(options.guard) as Guard;
  const global = options.global ?? true;
  if (typeof global !== 'boolean') throw new KeywardConfigError('keyward: global must be a boolean');
  const declared = declaredRoutes(fastify);
  // Without the record of routes (app created before keyward was imported), a route declared
  // before this point would be enforced but neither checked nor documented: refuse to start.
  if (declared === undefined && fastify.printRoutes() !== '(empty tree)') {
    throw new KeywardConfigError(
      'keyward: routes were declared before the plugin loaded and keyward cannot see them, because this Fastify app was created before keyward/fastify was imported. Import keyward/fastify before creating the app, or `await app.register(keyward, ...)` before declaring routes.',
    );
  }
  if (!fastify.hasRequestDecorator('principal')) fastify.decorateRequest('principal', undefined);
  const choose = chooser(guard, global);
  const schemes = registryOf(fastify);
  const seen: RouteOptions[] = [];
  // Routes declared from now on fail right at their declaration when their config is wrong.
  fastify.addHook('onRoute', (route) => {
    const chosen = routeGuard(choose, route);
    if (chosen !== null) schemes.addGuard(chosen);
    if (declared === undefined) seen.push(route);
  });
  fastify.addHook('onRequest', onRequestHook(choose));
  fastify.addHook('onReady', (ready) => {
    try {
      // Every route this registration enforces on, whenever declared: checked and documented.
      for (const route of declaredRoutes(fastify) ?? seen) {
        const chosen = routeGuard(choose, route);
        if (chosen === null) continue;
        schemes.addGuard(chosen);
        markRoute(route, chosen);
      }
    } catch (error) {
      ready(error as Error);
      return;
    }
    ready();
  });
}

const plugin: FastifyPluginCallback<KeywardFastifyOptions> = (fastify, options, done) => {
  // Through `done`: avvio does not catch what a callback-style plugin throws.
  try {
    setup(fastify, options);
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
};

/**
 * The keyward Fastify 5 plugin. Guards routes in `onRequest`, before the body is read:
 *
 * ```ts
 * app.register(keyward, { guard });
 * app.get('/health', { config: { keyward: false } }, () => ({ status: 'ok' }));
 * app.get('/admin', { config: { keyward: { scopes: ['admin'] } } }, handler);
 * ```
 *
 * It guards every route of the context it is registered in and of that context's children,
 * whether declared before or after it, awaited or not; registered inside a plugin it guards
 * that plugin's routes only. Every route's `config.keyward` is checked at startup.
 * `request.principal` holds the principal. With @fastify/swagger, pass `withSecurity` as
 * its `transformObject`: guarded operations get `security`, the document `securitySchemes`. Import `keyward/fastify`
 * before creating the app: routes declared before the plugin loaded are otherwise refused.
 */
export const apiKeyAuth = Object.assign(plugin, {
  // What fastify-plugin sets, without the dependency: the plugin is not encapsulated, so
  // its hooks reach the context it is registered in; the metadata names it and asks for Fastify 5.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'keyward',
  [Symbol.for('plugin-meta')]: { name: 'keyward', fastify: '5.x' },
});

/** The same plugin as {@link apiKeyAuth}, by the package's name: `app.register(keyward, { guard })`. */
export const keyward = apiKeyAuth;

/** `request.principal` with a type of your choice, for code that does not declare `Register`. */
export function principalOf<P = FastifyPrincipal>(request: FastifyRequest): P | undefined {
  return request.principal as P | undefined;
}
