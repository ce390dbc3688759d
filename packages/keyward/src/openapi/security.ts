import { KeywardConfigError } from '../core/failures.js';
import type { Guard } from '../core/guard.js';
import { type ApiKeyScheme, bearerFormatOf, sameScheme } from '../core/schemes.js';

/** OpenAPI 3.1 `apiKey` security scheme object, in FastAPI's exact shape. */
export interface ApiKeySecurityScheme {
  type: 'apiKey';
  name: string;
  in: 'header' | 'cookie' | 'query';
  description?: string;
}

/** OpenAPI 3.1 `http` bearer security scheme object, in FastAPI's `HTTPBearer` shape. */
export interface HttpBearerSecurityScheme {
  type: 'http';
  scheme: 'bearer';
  bearerFormat?: string;
  description?: string;
}

/** A security scheme object keyward emits. */
export type SecuritySchemeObject = ApiKeySecurityScheme | HttpBearerSecurityScheme;

/** One OpenAPI security requirement: scheme name to required scopes (roles). */
export type SecurityRequirement = Record<string, string[]>;

/** The component for one scheme: `description` only when one was given. */
export function securitySchemeObject(scheme: ApiKeyScheme): SecuritySchemeObject {
  if (scheme.kind === 'bearer') {
    const bearer: HttpBearerSecurityScheme = { type: 'http', scheme: 'bearer' };
    const format = bearerFormatOf(scheme);
    if (format !== undefined) bearer.bearerFormat = format;
    if (scheme.description !== undefined) bearer.description = scheme.description;
    return bearer;
  }
  const object: ApiKeySecurityScheme = { type: 'apiKey', name: scheme.name, in: scheme.in };
  if (scheme.description !== undefined) object.description = scheme.description;
  return object;
}

/**
 * An operation's `security`: one entry per accepted scheme (alternatives, OR), each
 * listing the guard's scopes, plus `{}` when auth is optional.
 */
export function securityRequirements(
  guard: Pick<Guard, 'schemes' | 'scopes' | 'optional'>,
): SecurityRequirement[] {
  const requirements: SecurityRequirement[] = [];
  const seen = new Set<string>();
  for (const scheme of guard.schemes) {
    if (seen.has(scheme.schemeName)) continue;
    seen.add(scheme.schemeName);
    requirements.push({ [scheme.schemeName]: [...guard.scopes] });
  }
  if (guard.optional) requirements.push({});
  return requirements;
}

/**
 * Collects `components.securitySchemes` from every scheme in use. Two different schemes
 * under one name fail loudly instead of one silently replacing the other (as in FastAPI).
 */
export class SecuritySchemeRegistry {
  readonly #schemes = new Map<string, ApiKeyScheme>();

  add(scheme: ApiKeyScheme): void {
    const known = this.#schemes.get(scheme.schemeName);
    if (known && !sameScheme(known, scheme)) {
      throw new KeywardConfigError(
        `schemeName "${scheme.schemeName}" is used by two different schemes ` +
          `(${known.in} "${known.name}" and ${scheme.in} "${scheme.name}"); give each its own schemeName`,
      );
    }
    this.#schemes.set(scheme.schemeName, scheme);
  }

  addGuard(guard: Pick<Guard, 'schemes'>): void {
    for (const scheme of guard.schemes) this.add(scheme);
  }

  get size(): number {
    return this.#schemes.size;
  }

  toJSON(): Record<string, SecuritySchemeObject> {
    const out: Record<string, SecuritySchemeObject> = {};
    for (const [name, scheme] of this.#schemes) out[name] = securitySchemeObject(scheme);
    return out;
  }
}

/**
 * What several guards on one route require together, for documentation: the schemes of
 * the innermost guard, the union of all scopes, optional only when every guard is.
 */
export function combineGuards(
  guards: readonly Pick<Guard, 'schemes' | 'scopes' | 'optional'>[],
): Pick<Guard, 'schemes' | 'scopes' | 'optional'> | undefined {
  if (guards.length === 0) return undefined;
  if (guards.length === 1) return guards[0];
  const scopes = [...new Set(guards.flatMap((g) => g.scopes))];
  return { schemes: guards[guards.length - 1]!.schemes, scopes, optional: guards.every((g) => g.optional) };
}
