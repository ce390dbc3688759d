import type { Guard } from '../core/guard.js';

type DocumentedGuard = Pick<Guard, 'schemes' | 'scopes' | 'optional'>;

/** The JSON body of every refusal: `{"detail": "..."}`, as FastAPI sends it. */
function errorBody(description: string, examples: Record<string, string>): Record<string, unknown> {
  return {
    description,
    content: {
      'application/json': {
        schema: {
          type: 'object',
          properties: { detail: { type: 'string' } },
          required: ['detail'],
        },
        examples: Object.fromEntries(
          Object.entries(examples).map(([name, detail]) => [name, { value: { detail } }]),
        ),
      },
    },
  };
}

const PLACES: Record<string, string> = { header: 'header', cookie: 'cookie', query: 'query parameter' };

/**
 * What a guarded operation says in words: how to send the key and which scopes it needs
 * (Swagger UI shows an operation's description, not the scopes of an apiKey requirement).
 */
export function authDescription(guard: DocumentedGuard): string {
  const places = guard.schemes.map((s) =>
    s.kind === 'bearer' ? '`Authorization: Bearer` header' : `${PLACES[s.in] ?? s.in} \`${s.name}\``,
  );
  const how =
    places.length === 0
      ? 'an API key'
      : `an API key in the ${places.length === 1 ? places[0] : `${places.slice(0, -1).join(', ')} or ${places[places.length - 1]}`}`;
  const scopes =
    guard.scopes.length === 0
      ? 'No scope is required.'
      : `Requires scope${guard.scopes.length > 1 ? 's' : ''} ${guard.scopes.map((s) => `\`${s}\``).join(', ')}${guard.scopes.length > 1 ? ' (all of them)' : ''}.`;
  return `${guard.optional ? `Optionally authenticated with ${how}` : `Authenticated with ${how}`}. ${scopes}`;
}

/**
 * The refusals a guarded operation can answer, with their JSON bodies: 401 (no key, or a
 * key that does not work), 403 (a restricted key; a missing scope where scopes are required), 429
 * (rate limits, a key out of uses) and 503 (the key store unreachable).
 */
export function authResponses(guard: DocumentedGuard): Record<string, Record<string, unknown>> {
  const responses: Record<string, Record<string, unknown>> = {
    '401': errorBody('Missing or invalid API key', {
      missing: 'Not authenticated',
      invalid: 'Invalid API Key',
    }),
  };
  // Any key may be restricted to some addresses, origins or routes (code `restricted`), so
  // every guarded operation can answer 403; a missing scope only where scopes are required.
  responses['403'] =
    guard.scopes.length > 0
      ? errorBody(
          `Insufficient scope (the key lacks ${guard.scopes.map((s) => `\`${s}\``).join(', ')}), or the key is not allowed here`,
          { insufficient_scope: 'Insufficient scope', restricted: 'API key not allowed here' },
        )
      : errorBody('The key is not allowed here (its address, origin or route restrictions)', {
          restricted: 'API key not allowed here',
        });
  responses['429'] = errorBody('Too many requests, or the key has no uses left; see `Retry-After`', {
    rate_limited: 'Too many requests',
    usage_exceeded: 'API key usage limit exceeded',
  });
  responses['503'] = errorBody('The key store cannot be reached; retry after `Retry-After`', {
    unavailable: 'Authentication temporarily unavailable',
  });
  return responses;
}

/**
 * Adds the description and refusals of a guard to an operation, keeping what it has: its
 * own description comes first, its own responses win.
 */
export function describeGuardedOperation(
  operation: { description?: unknown; responses?: Record<string, unknown>; [key: string]: unknown },
  guard: DocumentedGuard,
): void {
  const auth = authDescription(guard);
  operation.description =
    typeof operation.description === 'string' && operation.description !== ''
      ? operation.description.includes(auth)
        ? operation.description
        : `${operation.description}\n\n${auth}`
      : auth;
  operation.responses = { ...authResponses(guard), ...(operation.responses ?? {}) };
}
