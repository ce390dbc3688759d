import type { Guard } from '../core/guard.js';
import { authDescription, authResponses } from './responses.js';
import {
  type SecurityRequirement,
  type SecuritySchemeObject,
  SecuritySchemeRegistry,
  securityRequirements,
} from './security.js';

/** The two OpenAPI pieces a guard contributes, ready to merge into a document made by hand. */
export interface OpenApiSecurity {
  /** The operation's `security` (alternatives; `{}` last when auth is optional). */
  security: SecurityRequirement[];
  /** Entries for `components.securitySchemes`. */
  securitySchemes: Record<string, SecuritySchemeObject>;
  /** The operation's `description`: how to send the key and which scopes it needs. */
  description: string;
  /** The operation's refusals with their JSON bodies: 401, 403 (with scopes), 429, 503. */
  responses: Record<string, Record<string, unknown>>;
}

/**
 * What to put in an OpenAPI document for routes protected by this guard. node:http has no
 * route table to read, so you place the parts yourself (or list your routes and use
 * `buildOpenApiDocument`).
 */
export function openApiSecurity(guard: Pick<Guard, 'schemes' | 'scopes' | 'optional'>): OpenApiSecurity {
  const registry = new SecuritySchemeRegistry();
  registry.addGuard(guard);
  return {
    security: securityRequirements(guard),
    securitySchemes: registry.toJSON(),
    description: authDescription(guard),
    responses: authResponses(guard),
  };
}
