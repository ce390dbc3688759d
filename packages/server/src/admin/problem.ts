import { KeyStoreError } from '@keyward/keys';

/** Stable `code`s of admin API errors, besides the key store's own (`KeyErrorCode`). */
export type AdminErrorCode =
  | 'invalid_input'
  | 'invalid_json'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'key_not_found'
  | 'owner_not_found'
  | 'webhook_not_found'
  | 'key_state'
  | 'duplicate_key'
  | 'csrf'
  | 'root_scope_not_held'
  | 'unauthenticated'
  | 'dashboard_not_built'
  | 'idempotency_in_progress'
  | 'idempotency_key_reused'
  | 'store_unavailable'
  | 'internal';

const TITLES: Record<string, string> = {
  invalid_input: 'Invalid input',
  invalid_json: 'The body is not a JSON object',
  payload_too_large: 'The body is too large',
  unsupported_media_type: 'The body must be application/json',
  not_found: 'Not found',
  key_not_found: 'No such key',
  owner_not_found: 'No such owner',
  webhook_not_found: 'No such webhook',
  key_state: 'The key cannot change that way',
  duplicate_key: 'The key exists already',
  csrf: 'Missing or wrong CSRF token',
  root_scope_not_held: 'A root key may only grant or manage root scopes it holds itself',
  unauthenticated: 'Not signed in',
  dashboard_not_built: 'The dashboard is not built: run npm run build',
  idempotency_in_progress: 'A request with this Idempotency-Key is still running',
  idempotency_key_reused: 'This Idempotency-Key was used for another request',
  store_unavailable: 'The key store is unavailable',
  internal: 'Internal error',
};

const STATUS: Record<string, number> = {
  invalid_input: 400,
  invalid_json: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_found: 404,
  key_not_found: 404,
  owner_not_found: 404,
  webhook_not_found: 404,
  key_state: 409,
  duplicate_key: 409,
  csrf: 403,
  root_scope_not_held: 403,
  unauthenticated: 401,
  dashboard_not_built: 503,
  idempotency_in_progress: 409,
  idempotency_key_reused: 422,
  store_unavailable: 503,
  internal: 500,
};

/** An admin API refusal: thrown by handlers, answered as RFC 9457 problem details. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly code: AdminErrorCode,
    /** Human detail; never a key. */
    readonly detail?: string,
  ) {
    super(detail ?? TITLES[code]);
  }
}

/** A response's parts: what the Hono routes turn into a `Response` and node:http writes as is. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** An `application/problem+json` answer with the stable code, as parts. */
export function problemParts(code: string, detail?: string, headers?: Record<string, string>): Answer {
  const status = STATUS[code] ?? 500;
  const body: Record<string, unknown> = {
    type: `https://keyward.dev/problems/${code}`,
    title: TITLES[code] ?? 'Error',
    status,
    code,
  };
  if (detail !== undefined) body.detail = detail;
  return {
    status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** An {@link Answer} as a Fetch `Response`. */
export function responseOf(answer: Answer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/** An `application/problem+json` response with the stable code. */
export function problem(code: string, detail?: string, headers?: Record<string, string>): Response {
  return responseOf(problemParts(code, detail, headers));
}

/**
 * The answer for anything a handler threw: its own code for admin and key-store errors
 * (their messages never hold a key), `internal` with no detail for anything else.
 */
export function problemPartsFor(error: unknown): Answer {
  if (error instanceof AdminError) return problemParts(error.code, error.detail);
  if (error instanceof KeyStoreError) {
    if (error.code === 'store_unavailable')
      return problemParts('store_unavailable', undefined, { 'retry-after': '5' });
    if (error.code in STATUS) return problemParts(error.code, error.message);
  }
  process.emitWarning(
    `admin API: unhandled ${error instanceof Error ? error.name : typeof error}`,
    'KeywardWarning',
  );
  return problemParts('internal');
}

/** {@link problemPartsFor} as a `Response`. */
export function problemFor(error: unknown): Response {
  return responseOf(problemPartsFor(error));
}
