import { createHash } from 'node:crypto';
import type { KeyStore } from '@keyward/keys/store';
import { AdminError, problem } from './problem.js';

/** How long a stored response is replayed (24 hours). */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;

/** Response header on a replay (IETF draft-ietf-httpapi-idempotency-key-header practice). */
export const REPLAY_HEADER = 'idempotent-replayed';

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Runs a POST at most once per `Idempotency-Key` and root key: a repeat within 24 hours
 * gets the first response again, with `Idempotent-Replayed: true`. A response never
 * stores a plaintext key or a webhook's signing secret: a replayed create or rotate answers
 * without its `key` or `secret` field (shown once; lost, it must be rotated or re-registered). A request still running answers
 * 409, the same key on another request 422. Responses of 5xx are not kept (retry).
 */
export async function idempotent(
  store: KeyStore,
  request: Request,
  actor: string,
  body: ArrayBuffer,
  run: () => Promise<Response>,
): Promise<Response> {
  const header = request.headers.get('idempotency-key');
  if (header === null) return run();
  if (!KEY.test(header))
    throw new AdminError('invalid_input', 'Idempotency-Key must be 1-255 visible ASCII characters');
  if (!store.claimIdempotency || !store.finishIdempotency) return run();
  const url = new URL(request.url);
  const fingerprint = createHash('sha256')
    .update(`${request.method} ${url.pathname}\n`)
    .update(new Uint8Array(body))
    .digest('base64url');
  // Scoped by root key: one client's keys never replay another's responses.
  const scoped = `${actor}:${createHash('sha256').update(header).digest('base64url')}`;
  const claim = await store.claimIdempotency(scoped, fingerprint, new Date(), IDEMPOTENCY_TTL_MS);
  if (claim.state === 'pending') return problem('idempotency_in_progress');
  if (claim.state === 'done') {
    if (claim.response.fingerprint !== fingerprint) return problem('idempotency_key_reused');
    return new Response(claim.response.body, {
      status: claim.response.status,
      headers: {
        'content-type': contentTypeOf(claim.response.status),
        'cache-control': 'no-store',
        [REPLAY_HEADER]: 'true',
      },
    });
  }
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    await store.finishIdempotency(scoped, null).catch(() => {});
    throw error;
  }
  if (response.status >= 500) {
    await store.finishIdempotency(scoped, null).catch(() => {});
    return response;
  }
  const text = await response.clone().text();
  await store.finishIdempotency(scoped, { status: response.status, body: withoutKey(text) });
  return response;
}

function contentTypeOf(status: number): string {
  return status >= 400 ? 'application/problem+json' : 'application/json';
}

/**
 * The body as stored: a top-level `key` (the plaintext of a create or rotate) and `secret`
 * (a webhook's signing secret) removed.
 */
function withoutKey(text: string): string {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      if (!('key' in value) && !('secret' in value)) return text;
      const { key: _key, secret: _secret, ...rest } = value as Record<string, unknown>;
      return JSON.stringify(rest);
    }
  } catch {
    // not JSON: stored as it is (admin responses are JSON; nothing else carries a key)
  }
  return text;
}
