import { type KeyManager, type KeyPrincipal, keyState } from '@keyward/keys';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import {
  AuthFailure,
  apiKeyHeader,
  createGuard,
  type FailureResponse,
  type Guard,
  type GuardLimits,
  httpBearer,
  type KeySource,
  problemJsonFailure,
} from 'keyward';
import { problem, responseOf } from './problem.js';
import { type RootScope, rootScopesOf } from './scopes.js';
import { csrfMatches, type Session, type SessionStore } from './sessions.js';

/** The dashboard's session cookie. */
export const SESSION_COOKIE = 'keyward_admin';

/** Who is calling: the root key (its id is the audit actor) and how it signed in. */
export interface AdminCaller {
  readonly keyId: string;
  readonly scopes: readonly RootScope[];
  readonly session?: Session;
}

/** The admin API's two ways to send a root key: `Authorization: Bearer` and `X-API-Key`. */
export const adminSchemes = [
  httpBearer({ description: 'A root key: a keyward key with keyward:* scopes' }),
  apiKeyHeader({ name: 'X-API-Key', description: 'A root key, as for the public API' }),
] as const;

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates admin requests: a root key in a header (through keyward's guard, so the
 * same 401/403 rules, rate limits and usage apply), or else the dashboard's session
 * cookie, whose changes need the session's CSRF token. A root key's scopes are read
 * again on each session request: revoking or narrowing it ends its sessions' rights.
 */
export class AdminAuth {
  readonly guard: Guard<KeyPrincipal>;
  readonly #byScope = new Map<RootScope, Guard<KeyPrincipal>>();

  constructor(
    readonly manager: KeyManager,
    readonly sessions: SessionStore,
    limits?: GuardLimits<KeyPrincipal>,
  ) {
    this.guard = createGuard<KeyPrincipal>({
      schemes: adminSchemes,
      verify: manager.verifier(),
      onFailure: problemJsonFailure,
      scopesOf: (p) => rootScopesOf(p.scopes),
      ...(limits ? { limits } : {}),
    });
  }

  /** The guard that requires one root scope. */
  guardFor(scope: RootScope): Guard<KeyPrincipal> {
    let guard = this.#byScope.get(scope);
    if (!guard) {
      guard = this.guard.require(scope);
      this.#byScope.set(scope, guard);
    }
    return guard;
  }

  /** The caller, or the refusal to send. */
  async check(c: Context, scope: RootScope): Promise<AdminCaller | Response> {
    const headers = c.req.raw.headers;
    const guard = this.guardFor(scope);
    const sessionId = getCookie(c, SESSION_COOKIE);
    if (headers.has('authorization') || headers.has('x-api-key') || sessionId === undefined) {
      const source: KeySource = {
        header: (name) => headers.get(name) ?? undefined,
        query: () => '',
        peer: () => peerOf(c),
      };
      const caller = await this.checkKey(source, scope);
      return 'status' in caller ? responseOf(caller) : caller;
    }
    const session = this.sessions.get(sessionId);
    if (session === undefined) return failureResponse(guard, MISSING);
    if (!SAFE.has(c.req.method) && !csrfMatches(session, c.req.header('x-csrf-token'))) {
      return problem('csrf');
    }
    const record = await this.manager.get(session.keyId).catch((error: unknown) => {
      if ((error as { code?: unknown }).code === 'key_not_found') return undefined;
      throw error;
    });
    // A session carries no request the key's restrictions could be checked against as the
    // guard checks a header's: a key restricted since it signed in ends its sessions.
    if (record === undefined || keyState(record) !== 'active' || record.restrictions != null) {
      this.sessions.delete(sessionId);
      return failureResponse(guard, MISSING);
    }
    const scopes = rootScopesOf(record.scopes);
    if (!scopes.includes(scope)) return failureResponse(guard, INSUFFICIENT);
    return { keyId: record.id, scopes, session };
  }

  /**
   * The caller of a request whose root key is in a header (`source`, read as Fetch
   * `Headers` reads it), or the guard's refusal to send: {@link check}'s key path, also
   * used by the admin listener's node:http verify route.
   */
  async checkKey(source: KeySource, scope: RootScope): Promise<AdminCaller | FailureResponse> {
    const guard = this.guardFor(scope);
    const result = await guard.authenticate(source);
    if (!result.ok) return guard.respond(result.failure);
    const principal = result.principal as KeyPrincipal;
    return { keyId: principal.id, scopes: rootScopesOf(principal.scopes) };
  }

  /**
   * Exchanges a root key for a session (the dashboard's sign-in); `undefined` when it is no
   * usable root key. The key goes through the guard as if sent in `X-API-Key` with this
   * request, so failure limits per address, its rate limit and its restrictions apply; and
   * only an unrestricted key gets a session, which later requests could not hold to them.
   */
  async signIn(c: Context, key: string): Promise<{ id: string; session: Session } | undefined> {
    const headers = c.req.raw.headers;
    const source: KeySource = {
      header: (name) =>
        (name.toLowerCase() === 'x-api-key' ? key : undefined) ?? headers.get(name) ?? undefined,
      query: () => '',
      peer: () => peerOf(c),
    };
    const result = await this.guard.authenticate(source);
    if (!result.ok || result.principal === undefined) return undefined;
    const principal = result.principal as KeyPrincipal;
    if (rootScopesOf(principal.scopes).length === 0 || principal.restrictions != null) return undefined;
    return this.sessions.create(principal.id);
  }
}

/** The connection's peer address (@hono/node-server's request). */
function peerOf(c: Context): string | undefined {
  return (c.env as { incoming?: { socket?: { remoteAddress?: string } } })?.incoming?.socket?.remoteAddress;
}

function failureResponse(guard: Guard<KeyPrincipal>, failure: AuthFailure): Response {
  return responseOf(guard.respond(failure));
}

const MISSING = new AuthFailure('missing');
const INSUFFICIENT = new AuthFailure('insufficient_scope');
