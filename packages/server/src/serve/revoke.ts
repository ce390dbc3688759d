import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyManager } from '@keyward/keys';
import type { Context, Hono } from 'hono';
import { AuthFailure, type GuardLimits, type KeySource } from 'keyward';
import { boundedBody, noteRoute } from './request-body.js';

/** The route whoever holds a key may revoke it at (RFC 7009 style). */
export const REVOKE_ROUTE = '/v1/revoke';
/** Largest body accepted; larger gets 413. */
export const MAX_REVOKE_BODY = 4096;
/**
 * Every answer takes at least this long from the request's arrival: a key that was
 * revoked (a store write) and one that never existed (perhaps no lookup at all) are
 * answered after the same time, as far as a write stays under it.
 */
export const REVOKE_MIN_MS = 250;
/** Who self-revocations are attributed to in the audit log. */
export const REVOKE_ACTOR = 'key-holder';

export interface RevokeOptions {
  readonly manager: KeyManager;
  /** Per-address limits; every request counts (`ServeLimits.revocations`). */
  readonly limits: GuardLimits<unknown>;
  /** Told about each key revoked (its id, never the key) and store failures. */
  readonly log?: (line: string) => void;
}

/** The one answer to every request that names a key, revoked or not. */
const DONE = '{}';

/** The key a request names: form `token=…` (RFC 7009) or JSON `{"key":"…"}` (or `"token"`). */
export function presentedKey(contentType: string | undefined, body: string): string | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    try {
      const doc = JSON.parse(body) as { key?: unknown; token?: unknown } | null;
      const key = doc?.key ?? doc?.token;
      return typeof key === 'string' && key !== '' ? key : undefined;
    } catch {
      return undefined;
    }
  }
  if (type === 'application/x-www-form-urlencoded' || type === '') {
    const token = new URLSearchParams(body).get('token');
    return token ? token : undefined;
  }
  return undefined;
}

function sourceOf(c: Context): KeySource {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return {
    header: (name) => c.req.header(name),
    query: () => '',
    peer: () => incoming?.socket?.remoteAddress,
  };
}

/**
 * Mounts `POST /v1/revoke`: whoever holds a key revokes it by presenting it, as a form
 * field `token` (RFC 7009) or JSON `{"key":"…"}`. The answer is 200 `{}` whether the key
 * was valid, already revoked, unknown or not a key at all, after the same minimum time,
 * so that the endpoint tells nobody whether a key exists. Each request counts against its
 * address's limit (429 over it, before any lookup); a request naming no key → 400; a body
 * over 4 KiB → 413; the store unreachable → 503.
 */
export function mountRevoke(app: Hono, options: RevokeOptions): void {
  const { manager, limits } = options;
  const log = options.log ?? (() => {});
  app.post(REVOKE_ROUTE, async (c) => {
    const started = performance.now();
    noteRoute(c, REVOKE_ROUTE);
    c.header('Cache-Control', 'no-store');
    const source = sourceOf(c);
    let address: string | undefined;
    try {
      address = limits.address(source);
    } catch (error) {
      // Failure limits on, and no client address to count under: never unlimited.
      if (!(error instanceof AuthFailure))
        log(`keyward: ${error instanceof Error ? error.message : 'error'}`);
      return c.json({ detail: 'Service Unavailable' }, 503);
    }
    const waitSeconds = limits.blockedFor(address);
    if (waitSeconds > 0) return tooMany(c, waitSeconds);
    // Counted before anything is looked up, whatever the key turns out to be.
    const counted = await limits.failed(address, COUNTED);
    if (counted.code === 'rate_limited') return tooMany(c, counted.retryAfter ?? 60);
    if (counted.code === 'unavailable') return c.json({ detail: 'Service Unavailable' }, 503);
    const body = await boundedBody(c.req.raw, MAX_REVOKE_BODY);
    if (body === undefined) return c.json({ detail: `the body is over ${MAX_REVOKE_BODY} bytes` }, 413);
    const key = presentedKey(c.req.header('content-type'), body.toString('utf8'));
    if (key === undefined) {
      return c.json({ error: 'invalid_request', detail: 'name the key: token=… or {"key":"…"}' }, 400);
    }
    try {
      const check = await manager.check(key, { dryRun: true });
      if (check.keyId !== undefined && check.outcome !== 'revoked') {
        const record = await manager.revoke(check.keyId, { actor: REVOKE_ACTOR });
        log(
          `keyward: key ${record.id} (${record.display}) revoked by its holder from ${address ?? 'an unknown address'}`,
        );
      }
    } catch (error) {
      log(`keyward: self-revocation not processed (${error instanceof Error ? error.name : 'error'})`);
      await untilMinimum(started);
      return c.json({ detail: 'Service Unavailable' }, 503);
    }
    await untilMinimum(started);
    return c.body(DONE, 200, { 'content-type': 'application/json' });
  });
}

/** What each request counts as, to the limits. */
const COUNTED = new AuthFailure('invalid', undefined, undefined, 'unknown');

function tooMany(c: Context, retryAfter: number) {
  c.header('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
  return c.json({ detail: 'Too Many Requests' }, 429);
}

async function untilMinimum(started: number): Promise<void> {
  const left = REVOKE_MIN_MS - (performance.now() - started);
  if (left > 0) await sleep(left);
}
