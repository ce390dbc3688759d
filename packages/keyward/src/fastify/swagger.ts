import type { RouteOptions } from 'fastify';
import type { Guard } from '../core/guard.js';
import { authDescription, authResponses } from '../openapi/responses.js';
import {
  combineGuards,
  type SecurityRequirement,
  type SecuritySchemeObject,
  SecuritySchemeRegistry,
  securityRequirements,
} from '../openapi/security.js';

/** The operation extension that carries a route's security until the document is finished. */
export const MARK = 'x-keyward';

/** What a guarded route contributes to the document: its `security` and the schemes it names. */
export interface SecurityMark {
  security: SecurityRequirement[];
  securitySchemes: Record<string, SecuritySchemeObject>;
  /** How to send the key and the scopes needed, for the operation's description. */
  description: string;
  /** 401, 403 (with scopes), 429 and 503 with their JSON bodies (OpenAPI 3 only). */
  responses: Record<string, Record<string, unknown>>;
}

/** The mark for the guards on one route (scheme-name clashes fail here, at startup). */
export function markFor(guards: readonly Guard[]): SecurityMark {
  const guard = combineGuards(guards)!;
  const registry = new SecuritySchemeRegistry();
  registry.addGuard(guard);
  return {
    security: securityRequirements(guard),
    securitySchemes: registry.toJSON(),
    description: authDescription(guard),
    responses: authResponses(guard),
  };
}

const GUARDS: unique symbol = Symbol('keyward.guards');
type Marked = RouteOptions & { [GUARDS]?: Guard[] };

/**
 * Adds a guard to the mark in a route's schema, the one @fastify/swagger reads when it builds
 * the document (after startup, when every route is known). A copy: a schema object shared
 * by several routes must not carry one route's security. Fastify itself compiled the
 * route from the schema it had at declaration, so this only reaches the document.
 */
export function markRoute(route: RouteOptions, guard: Guard): void {
  const marked = route as Marked;
  const guards = marked[GUARDS] ?? [];
  marked[GUARDS] = guards;
  if (!guards.includes(guard)) guards.push(guard);
  route.schema = { ...route.schema, [MARK]: markFor(guards) } as RouteOptions['schema'];
}

type Operation = Record<string, unknown> & {
  [MARK]?: SecurityMark;
  security?: unknown;
  operationId?: unknown;
};

/**
 * With `exposeHeadRoutes` and an `operationId`, @fastify/swagger documents the HEAD route
 * Fastify adds for a GET from a copy it made when the route was declared, before its mark:
 * that HEAD route is the GET's own (same context, same config), so it gets the GET's mark.
 */
function headMark(item: Record<string, Operation | undefined>): SecurityMark | undefined {
  const get = item.get;
  const head = item.head;
  if (!get?.[MARK] || !head || head[MARK] || typeof get.operationId !== 'string') return undefined;
  return head.operationId === `${get.operationId}-head` ? get[MARK] : undefined;
}

/** The description and refusals of a mark, keeping the operation's own (idempotent). */
function describeMarked(operation: Operation, mark: SecurityMark): void {
  const own = typeof operation.description === 'string' ? operation.description : '';
  if (!own.includes(mark.description)) {
    operation.description = own === '' ? mark.description : `${own}\n\n${mark.description}`;
  }
  const responses = (operation.responses ?? {}) as Record<string, unknown>;
  // @fastify/swagger adds a bare 200 "Default Response" when the route declares none.
  operation.responses = { ...mark.responses, ...responses };
}

interface SwaggerDocument {
  swagger?: string;
  paths?: Record<string, Record<string, Operation | undefined> | undefined>;
  components?: { securitySchemes?: Record<string, unknown> } & Record<string, unknown>;
  securityDefinitions?: Record<string, unknown>;
}

function isCookieScheme(scheme: SecuritySchemeObject | undefined): boolean {
  return scheme?.type === 'apiKey' && scheme.in === 'cookie';
}

/** Swagger 2.0 has no `http` bearer type: a bearer key is described as the `Authorization` header. */
function swagger2Scheme(scheme: SecuritySchemeObject): SecuritySchemeObject {
  if (scheme.type === 'apiKey') return scheme;
  const header: SecuritySchemeObject = { type: 'apiKey', name: 'Authorization', in: 'header' };
  if (scheme.description !== undefined) header.description = scheme.description;
  return header;
}

/**
 * Turns the marks @fastify/swagger copied into operations into `security`, and adds the
 * schemes to `components.securitySchemes` (OpenAPI 3) or `securityDefinitions` (Swagger
 * 2.0, which has no cookie API keys: those are left out). Idempotent.
 */
export function applyMarks<D>(document: D): D {
  const doc = document as SwaggerDocument;
  const schemes: Record<string, SecuritySchemeObject> = {};
  const swagger2 = typeof doc.swagger === 'string';
  for (const item of Object.values(doc.paths ?? {})) {
    if (item === undefined) continue;
    const head = headMark(item);
    if (head) item.head![MARK] = head;
    for (const operation of Object.values(item)) {
      const mark = operation?.[MARK];
      if (!operation || !mark) continue;
      Object.assign(schemes, mark.securitySchemes);
      operation.security = swagger2
        ? mark.security.filter((r) =>
            Object.keys(r).every((name) => !isCookieScheme(mark.securitySchemes[name])),
          )
        : mark.security;
      if (!swagger2) describeMarked(operation, mark);
      delete operation[MARK];
    }
  }
  if (Object.keys(schemes).length === 0) return document;
  if (swagger2) {
    const kept = Object.entries(schemes)
      .filter(([, s]) => !isCookieScheme(s))
      .map(([name, s]) => [name, swagger2Scheme(s)] as const);
    doc.securityDefinitions = { ...doc.securityDefinitions, ...Object.fromEntries(kept) };
  } else {
    doc.components = {
      ...doc.components,
      securitySchemes: { ...doc.components?.securitySchemes, ...schemes },
    };
  }
  return document;
}

/**
 * For @fastify/swagger's `transformObject` option: the generated document with keyward's
 * `security` on each guarded operation and its schemes in `components.securitySchemes`
 * (Swagger 2.0: `securityDefinitions`, without cookie keys, which 2.0 cannot describe).
 *
 * @example
 * ```ts
 * await app.register(swagger, { openapi: { info }, transformObject: withSecurity });
 * ```
 */
export function withSecurity<O extends object, S extends object>(
  documentObject: { openapiObject: O } | { swaggerObject: S },
): O | S {
  return applyMarks(
    'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject,
  );
}
