import type { KeySettings } from '@keyward/keys';
import type { Context } from 'hono';
import { AdminError } from './problem.js';

// Stateless for whole-buffer decodes: one for every request.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Largest JSON body the admin API reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads a JSON object body: `application/json`, at most {@link MAX_BODY_BYTES}, an object
 * with no field outside `allowed`. Field values are checked by the key domain
 * (`settingsPatch`), which holds every rule once; this only turns JSON into its types.
 */
export function readObject(
  c: Context,
  allowed: ReadonlySet<string>,
  optional = false,
): Promise<Record<string, unknown>> {
  return objectOf(
    c.req.header('content-type'),
    c.req.header('content-length'),
    () => c.req.arrayBuffer(),
    allowed,
    optional,
  );
}

/**
 * {@link readObject} from the request's parts: its `Content-Type` and `Content-Length` as
 * a Fetch `Headers` reads them (repeated lines joined with ", "), and the body, read only
 * once the head is acceptable. The Hono routes and the admin listener's node:http verify
 * route share it.
 */
export async function objectOf(
  type: string | undefined,
  length: string | undefined,
  read: () => Promise<ArrayBuffer | Uint8Array>,
  allowed: ReadonlySet<string>,
  optional = false,
): Promise<Record<string, unknown>> {
  const declared = Number(length ?? '0');
  if (declared > MAX_BODY_BYTES) throw new AdminError('payload_too_large');
  if (type === undefined && optional && !(declared > 0)) {
    const raw = await read();
    if (raw.byteLength === 0) return {};
    throw new AdminError('unsupported_media_type');
  }
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type))
    throw new AdminError('unsupported_media_type');
  const raw = await read();
  if (raw.byteLength > MAX_BODY_BYTES) throw new AdminError('payload_too_large');
  if (raw.byteLength === 0 && optional) return {};
  let body: unknown;
  try {
    body = JSON.parse(UTF8.decode(raw));
  } catch {
    throw new AdminError('invalid_json');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AdminError('invalid_json');
  for (const field of Object.keys(body)) {
    if (!allowed.has(field)) {
      // Named only when it is a plain word: a field name may be anything, a pasted key too.
      const named = /^[A-Za-z_]{1,40}$/.test(field) ? ` "${field}"` : '';
      throw new AdminError('invalid_input', `unknown field${named}; allowed: ${[...allowed].join(', ')}`);
    }
  }
  return body as Record<string, unknown>;
}

/** Fields of a key's settings in a create or update body. */
export const SETTINGS_FIELDS = [
  'name',
  'owner',
  'scopes',
  'metadata',
  'expiresAt',
  'expiresIn',
  'uses',
  'rateLimit',
  'enabled',
] as const;

/** JSON settings as `KeySettings`: `expiresAt` from an ISO 8601 string (or null). */
export function settingsOf(body: Record<string, unknown>): Partial<KeySettings> {
  const settings: Record<string, unknown> = {};
  for (const field of SETTINGS_FIELDS) if (body[field] !== undefined) settings[field] = body[field];
  const expiresAt = body.expiresAt;
  if (expiresAt !== undefined && expiresAt !== null) {
    const at =
      typeof expiresAt === 'string' && /^\d{4}-\d\d-\d\dT/.test(expiresAt) ? new Date(expiresAt) : undefined;
    if (at === undefined || Number.isNaN(at.getTime())) {
      throw new AdminError(
        'invalid_input',
        'expiresAt must be an ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z',
      );
    }
    settings.expiresAt = at;
  }
  if (settings.scopes !== undefined && !Array.isArray(settings.scopes)) {
    throw new AdminError('invalid_input', 'scopes must be an array of strings');
  }
  return settings as Partial<KeySettings>;
}

/** One query parameter: absent, or given once (a repeated one is refused, never resolved by picking). */
export function queryParam(c: Context, name: string): string | undefined {
  const values = c.req.queries(name);
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) throw new AdminError('invalid_input', `${name} given more than once`);
  return values[0];
}

/** A `limit` parameter: 1 to 1000, default 50. */
export function limitParam(c: Context): number {
  const text = queryParam(c, 'limit');
  if (text === undefined) return 50;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 1000) {
    throw new AdminError('invalid_input', 'limit must be an integer from 1 to 1000');
  }
  return Number(text);
}
