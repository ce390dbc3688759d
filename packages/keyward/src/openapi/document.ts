import type { Guard } from '../core/guard.js';
import { describeGuardedOperation } from './responses.js';
import { type SecurityRequirement, SecuritySchemeRegistry, securityRequirements } from './security.js';

/** `info` of an OpenAPI document. */
export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

/** One route as keyward sees it when documenting. */
export interface RouteDescription {
  method: string;
  /** Path in OpenAPI form (`/users/{id}`). */
  path: string;
  /** The guard protecting it, if any. */
  guard?: Pick<Guard, 'schemes' | 'scopes' | 'optional'> | undefined;
  summary?: string;
}

/** A minimal OpenAPI 3.1 document; extend or merge it as you like. */
export interface OpenApiDocument {
  openapi: string;
  info: OpenApiInfo;
  paths: Record<string, Record<string, OperationObject>>;
  components?: { securitySchemes?: Record<string, unknown>; [key: string]: unknown };
  [key: string]: unknown;
}

export interface OperationObject {
  summary?: string;
  operationId?: string;
  security?: SecurityRequirement[];
  responses?: Record<string, unknown>;
  [key: string]: unknown;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** The operation id the document gives a route: `get_reports_id` for `GET /reports/{id}`. */
export function operationId(method: string, path: string): string {
  const words = path
    .replace(/[{}]/g, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return [method, ...words].join('_') || method;
}

/**
 * Adds `security` to the operations of an existing document (yours, or one made by
 * another tool such as `@hono/zod-openapi`) and its schemes to `components`.
 */
export function applySecurity(
  document: OpenApiDocument,
  routes: readonly RouteDescription[],
): OpenApiDocument {
  const registry = new SecuritySchemeRegistry();
  const existing = document.components?.securitySchemes ?? {};
  for (const route of routes) {
    if (!route.guard) continue;
    registry.addGuard(route.guard);
    const method = route.method.toLowerCase();
    const operation = document.paths[route.path]?.[method];
    if (operation) {
      operation.security = securityRequirements(route.guard);
      describeGuardedOperation(operation, route.guard);
    }
  }
  if (registry.size > 0) {
    document.components = {
      ...document.components,
      securitySchemes: { ...existing, ...registry.toJSON() },
    };
  }
  return document;
}

/** Builds an OpenAPI 3.1 document for routes and the guards that protect them. */
export function buildOpenApiDocument(
  info: OpenApiInfo,
  routes: readonly RouteDescription[],
): OpenApiDocument {
  const document: OpenApiDocument = { openapi: '3.1.0', info: { ...info }, paths: {} };
  for (const route of routes) {
    const method = route.method.toLowerCase();
    if (!METHODS.has(method)) continue;
    document.paths[route.path] ??= {};
    const item = document.paths[route.path]!;
    const operation: OperationObject = {};
    if (route.summary) operation.summary = route.summary;
    operation.operationId = operationId(method, route.path);
    operation.responses = { '200': { description: 'Successful Response' } };
    // applySecurity adds the description, 401, 403, 429 and 503 of guarded routes.
    item[method] = operation;
  }
  return applySecurity(document, routes);
}
