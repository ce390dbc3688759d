import { DUPLICATE, extractKey } from './extract.js';
import {
  AuthFailure,
  type FailureCode,
  type FailureResponder,
  type FailureResponse,
  isAuthFailure,
  jsonFailure,
  KeywardConfigError,
  UNAVAILABLE,
} from './failures.js';
import type { GuardLimits } from './limits.js';
import type { KeySource } from './request.js';
import { type ClientAddressReader, isRestriction, type RequestRestriction } from './restriction.js';
import { type ApiKeyScheme, sameScheme } from './schemes.js';
import { isSpendable, type Spendable, type Spent } from './verdict.js';

/** What a verifier knows about the attempt besides the key. */
export interface VerifyContext {
  /** The scheme the key came from. */
  readonly scheme: ApiKeyScheme;
  /** Scopes the route requires (checked by the guard after verification). */
  readonly scopes: readonly string[];
}

/**
 * What a verifier may answer:
 * - a principal: an object that is not an array nor an `Error` (a row, a record, a class
 *   instance); it becomes `c.var.principal` / `req.principal`;
 * - a {@link Spendable} (`spendable(principal, spend)`): a principal whose request costs
 *   something, taken by the guard once scopes and rate limits passed;
 * - `null`, `undefined`, `false`, `''`, `0` or `NaN`: an unknown key (401 `invalid`);
 * - an {@link AuthFailure} (`deny(code)`): a refusal for that reason.
 *
 * Anything else (an array, `true`, a non-empty string, a number, a function, an `Error`)
 * is taken for a verifier mistake: the request fails closed with 503 and `onError` hears
 * of it. A thenable is awaited first, whatever made it.
 */
export type VerifyOutcome<P> = P | Spendable<P> | null | undefined | false | AuthFailure;

/**
 * Maps a presented key to a principal (see {@link VerifyOutcome} for what counts as one).
 * May be sync (fast path, no promise) or return any thenable: a native or cross-realm
 * `Promise`, or a query builder (knex, Drizzle, Mongoose), which is awaited like a promise.
 * A throw or a rejection answers 503, never a pass.
 */
export interface Verifier<P> {
  (key: string, context: VerifyContext): VerifyOutcome<P> | PromiseLike<VerifyOutcome<P>>;
  /**
   * Optional, sync, no I/O: has this key recently been verified as good here? Lets known
   * clients through while their address is blocked for failed attempts.
   */
  knows?(key: string): boolean;
}

/** The outcome of {@link Guard.authenticate}. */
export type AuthResult<P> =
  | {
      readonly ok: true;
      readonly principal: P;
      readonly scheme: ApiKeyScheme;
      /**
       * Headers for the response when there are any: the IETF `RateLimit` fields, and RFC
       * 9745 `Deprecation` for a key sent through a deprecated scheme.
       */
      readonly headers?: Readonly<Record<string, string>>;
      /**
       * The `Cache-Control` the response gets unless the route sets its own (the guard's
       * `cacheControl` option); `undefined` when that option is `false`.
       */
      readonly cacheControl?: string;
    }
  /** Optional auth (`autoError: false` on every scheme) and no key anywhere. */
  | {
      readonly ok: true;
      readonly principal: undefined;
      readonly scheme: undefined;
      readonly headers?: undefined;
      readonly cacheControl?: undefined;
    }
  | {
      readonly ok: false;
      readonly failure: AuthFailure;
      /**
       * The verified principal when the key itself was good and a later step refused the
       * request (a missing scope, the rate limit, no use left): for observers (usage
       * analytics, logs), which count the refusal for that key.
       */
      readonly principal?: P;
    };

export interface GuardOptions<P> {
  /** Where the key may travel; alternatives tried in this order. The first that carries a key decides. */
  schemes: ApiKeyScheme | readonly ApiKeyScheme[];
  /** Maps a key to a principal (see {@link Verifier}). */
  verify: Verifier<P>;
  /** Scopes every request through this guard needs. */
  scopes?: readonly string[];
  /** Reads the scopes of a principal; default: its `scopes` property when it is an array or a Set. */
  scopesOf?: (principal: P) => Iterable<string> | undefined;
  /**
   * Reads where a principal may be used (client addresses, origins, routes); default: its
   * `restrictions` property when it is a compiled restriction (`compileRestrictions`, as
   * `@keyward/keys` principals carry). Checked after verification and before scopes, rate
   * limits and spending: a request outside it gets 403 `restricted` and costs the key
   * nothing. Principals without one cost nothing more.
   */
  restrictionsOf?: (principal: P) => RequestRestriction | null | undefined;
  /** Replaces the default `{"detail": ...}` responses. */
  onFailure?: FailureResponder;
  /** Longer keys are rejected before any hashing or lookup. Default 256. */
  maxKeyLength?: number;
  /**
   * Called when the verifier throws (the request gets a 503, never a 500 or a pass).
   * Default: one line on stderr with the error's name and message.
   */
  onError?: (error: unknown) => void;
  /**
   * `Cache-Control` for every response to an authenticated request, unless the route sets
   * its own: default `no-store`, so that no shared cache keeps one client's data for
   * another (RFC 9111 protects only requests with `Authorization`). `false` sends nothing.
   * Failures always carry `no-store`; anonymous requests under optional auth get nothing.
   */
  cacheControl?: string | false;
  /**
   * What a request through this guard costs a key with limited uses or credits (default 1):
   * taken last, after authentication, scopes and rate limits passed, and only if the key
   * (or its owner) can pay it all. `guard.require('scope', { cost: 5 })` derives a guard
   * with another cost.
   */
  cost?: number;
  /** Per-key and per-address rate limits (`rateLimits({...})`); none unless configured. */
  limits?: GuardLimits<NoInfer<P>>;
  /**
   * Told the result of every authentication this guard makes (once per request; guards
   * derived with `require` that reuse a request's result are not told again) and how long
   * it took, in milliseconds: for metrics and security logs. It must not throw. An
   * observer declared with one parameter (`(result) => ...`) is not timed: the guard saves
   * its two clock reads and passes `NaN`.
   */
  observe?: (result: AuthResult<P>, elapsedMs: number) => void;
}

/** A reusable, framework-neutral authentication check. Adapters wrap it in their idiom. */
export interface Guard<P = unknown> {
  readonly schemes: readonly ApiKeyScheme[];
  readonly scopes: readonly string[];
  /** True when every scheme has `autoError: false`: a request without a key passes anonymously. */
  readonly optional: boolean;
  /** Identity shared by a guard and the guards derived from it with {@link Guard.require}. */
  readonly family: object;
  /** Authenticates a request. Sync whenever the verifier is. */
  authenticate(source: KeySource): AuthResult<P> | Promise<AuthResult<P>>;
  /** Checks an already authenticated principal against this guard's scopes. */
  authorize(result: AuthResult<P>): AuthResult<P>;
  /** The HTTP response for a failure. */
  respond(failure: AuthFailure): FailureResponse;
  /** What a request through this guard costs a key with credits (see {@link GuardOptions.cost}). */
  readonly cost: number;
  /**
   * A guard with the same schemes and verifier that also requires these scopes; a last
   * argument `{ cost }` sets what a request through it costs instead. A request already let
   * through by a guard of the same family (adapters reuse it) only has its scopes checked:
   * give a route that costs more its own guard rather than one app-wide.
   */
  require(...scopes: string[]): Guard<P>;
  require(...args: [...scopes: string[], options: RouteOptions]): Guard<P>;
}

/** Options of a guard derived with {@link Guard.require}. */
export interface RouteOptions {
  /** What a request costs a key with credits (a whole number from 1). */
  readonly cost?: number;
}

function checkCost(cost: unknown): number {
  if (cost === undefined) return 1;
  if (!Number.isSafeInteger(cost) || (cost as number) < 1) {
    throw new KeywardConfigError('cost must be a whole number from 1');
  }
  return cost as number;
}

const SCOPE = /^[\x21-\x7e]{1,128}$/;
const HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const FAILURES: Partial<Record<FailureCode, AuthFailure>> = { unavailable: UNAVAILABLE };

function failure(code: FailureCode): AuthFailure {
  FAILURES[code] ??= new AuthFailure(code);
  return FAILURES[code];
}

// Visible ASCII only; a regular expression runs as compiled code, faster than a loop.
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** A presented key is usable only if it is 1..max visible ASCII characters. */
function plausible(key: string, max: number): boolean {
  return key.length <= max && VISIBLE_ASCII.test(key);
}

function logVerifierError(error: unknown): void {
  const e = error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
  // `process` is absent on some fetch runtimes.
  const warn = globalThis.process?.emitWarning;
  if (warn) warn(`verifier failed, answering 503 (${e})`, 'KeywardWarning');
  else console.warn(`keyward: verifier failed, answering 503 (${e})`);
}

/**
 * Why a verifier's answer was refused as a principal, for `onError`. Names the kind of
 * value only: the value itself may be a row holding secrets.
 *
 * Only objects are principals. A primitive "yes" (`true`, an id, a count) has the same
 * kind as the falsy "no" beside it (`false`, `''`, `0`), so a verifier returning
 * `keys.indexOf(key)` or `rowCount` would let the wrong keys in; an array cannot tell
 * "no rows" from "the row, not unwrapped"; a returned `Error` was meant as a throw.
 */
function notAPrincipal(value: unknown): TypeError {
  const kind = Array.isArray(value) ? 'an array' : value instanceof Error ? 'an Error' : `a ${typeof value}`;
  return new TypeError(
    `verify returned ${kind}; return the principal as an object, or null for an unknown key`,
  );
}

function withNoStore(response: FailureResponse): FailureResponse {
  for (const name in response.headers) if (name.toLowerCase() === 'cache-control') return response;
  return { ...response, headers: { ...response.headers, 'cache-control': 'no-store' } };
}

function defaultRestrictionsOf(principal: unknown): RequestRestriction | undefined {
  const restrictions = (principal as { restrictions?: unknown }).restrictions;
  return restrictions === undefined || restrictions === null || !isRestriction(restrictions)
    ? undefined
    : restrictions;
}

// Without rate limits, the client is the connection's peer.
const peerAddress: ClientAddressReader = (source) => source.peer?.();

/**
 * With a bearer scheme among the guard's, every 401 challenges `Bearer` (RFC 6750 §3), in
 * the schemes' order beside `APIKey` when keys may also travel elsewhere. Only the default
 * `APIKey` challenge is replaced: a responder's own challenge stays as it is.
 */
function challengeFor(schemes: readonly ApiKeyScheme[]): (response: FailureResponse) => FailureResponse {
  if (!schemes.some((s) => s.kind === 'bearer')) return (r) => r;
  const challenge = [...new Set(schemes.map((s) => (s.kind === 'bearer' ? 'Bearer' : 'APIKey')))].join(', ');
  return (response) => {
    if (response.status !== 401) return response;
    for (const name in response.headers) {
      if (name.toLowerCase() === 'www-authenticate' && response.headers[name] === 'APIKey') {
        return { ...response, headers: { ...response.headers, [name]: challenge } };
      }
    }
    return response;
  };
}

function defaultScopesOf(principal: unknown): Iterable<string> | undefined {
  const scopes = (principal as { scopes?: unknown } | null | undefined)?.scopes;
  return Array.isArray(scopes) || scopes instanceof Set ? (scopes as Iterable<string>) : undefined;
}

function checkSchemes(schemes: readonly ApiKeyScheme[]): void {
  if (schemes.length === 0) throw new KeywardConfigError('a guard needs at least one scheme');
  for (let i = 0; i < schemes.length; i++) {
    for (let j = i + 1; j < schemes.length; j++) {
      const a = schemes[i]!;
      const b = schemes[j]!;
      if (a.schemeName === b.schemeName && !sameScheme(a, b)) {
        throw new KeywardConfigError(
          `two different schemes share the schemeName "${a.schemeName}"; give each its own schemeName`,
        );
      }
    }
  }
}

/** Creates a guard from schemes and a verifier. Options are validated here, once. */
export function createGuard<P>(options: GuardOptions<P>): Guard<P> {
  const schemes = Object.freeze(Array.isArray(options.schemes) ? [...options.schemes] : [options.schemes]);
  checkSchemes(schemes as ApiKeyScheme[]);
  if (typeof options.verify !== 'function') throw new KeywardConfigError('verify must be a function');
  const maxKeyLength = options.maxKeyLength ?? 256;
  const cacheControl = options.cacheControl;
  if (
    cacheControl !== undefined &&
    cacheControl !== false &&
    (typeof cacheControl !== 'string' || !HEADER_VALUE.test(cacheControl))
  ) {
    throw new KeywardConfigError('cacheControl must be false or a header value (printable ASCII, one line)');
  }
  if (!Number.isInteger(maxKeyLength) || maxKeyLength < 1 || maxKeyLength > 8192) {
    throw new KeywardConfigError('maxKeyLength must be an integer from 1 to 8192');
  }
  return build(
    options,
    schemes as readonly ApiKeyScheme[],
    maxKeyLength,
    options.limits,
    {},
    options.scopes ?? [],
    checkCost(options.cost),
  );
}

function build<P>(
  options: GuardOptions<P>,
  schemes: readonly ApiKeyScheme[],
  maxKeyLength: number,
  limits: GuardLimits<P> | undefined,
  family: object,
  requiredScopes: readonly string[],
  cost: number,
): Guard<P> {
  for (const s of requiredScopes) {
    if (typeof s !== 'string' || !SCOPE.test(s))
      throw new KeywardConfigError(`invalid scope ${JSON.stringify(s)}`);
  }
  const scopes = Object.freeze([...new Set(requiredScopes)]);
  const verify = options.verify;
  const scopesOf = options.scopesOf ?? (defaultScopesOf as (p: P) => Iterable<string> | undefined);
  const onFailure = options.onFailure ?? jsonFailure;
  const restrictionsOf =
    options.restrictionsOf ?? (defaultRestrictionsOf as (p: P) => RequestRestriction | null | undefined);
  // The client address as the rate limits find it (trusted proxies, a platform header).
  const clientAddress: ClientAddressReader = limits?.clientAddress
    ? (source) => limits.clientAddress!(source)
    : peerAddress;
  // A guard that requires scopes is never optional, even over optional schemes.
  const optional = schemes.every((s) => !s.autoError) && scopes.length === 0;
  const onError = options.onError ?? logVerifierError;
  const cacheControl = options.cacheControl === false ? undefined : (options.cacheControl ?? 'no-store');
  // A custom responder may forget it; failures are never for a cache to keep.
  const uncacheable = options.onFailure ? withNoStore : (r: FailureResponse) => r;
  const challenged = challengeFor(schemes);
  const anonymous: AuthResult<P> = Object.freeze({ ok: true, principal: undefined, scheme: undefined });
  // Static failures are answered with prebuilt objects: no allocation on the reject path.
  const rejections = new Map<FailureCode, AuthResult<P>>();
  const reject = (code: FailureCode): AuthResult<P> => {
    let r = rejections.get(code);
    if (!r) {
      r = Object.freeze({ ok: false, failure: failure(code) });
      rejections.set(code, r);
    }
    return r;
  };
  const responses = new Map<AuthFailure, FailureResponse>();
  const contexts = new Map<ApiKeyScheme, VerifyContext>(
    schemes.map((scheme) => [scheme, Object.freeze({ scheme, scopes })]),
  );
  // RFC 9745 `Deprecation` for keys that came through a deprecated scheme, built once.
  const deprecations = new Map<ApiKeyScheme, Readonly<Record<string, string>>>();
  for (const s of schemes)
    if (s.deprecation) deprecations.set(s, Object.freeze({ deprecation: s.deprecation }));
  const withDeprecation = (headers: Record<string, string>, scheme: ApiKeyScheme) => {
    const deprecation = scheme.deprecation;
    return deprecation === undefined ? headers : { ...headers, deprecation };
  };

  function authorize(result: AuthResult<P>): AuthResult<P> {
    if (!result.ok || scopes.length === 0) return result;
    // Scopes cannot be held by nobody: an anonymous request never passes a scoped guard.
    if (result.principal === undefined) return reject('missing');
    const held = scopesOf(result.principal);
    const set = held instanceof Set ? held : new Set(held ?? []);
    for (const s of scopes) {
      if (!set.has(s))
        return { ok: false, failure: failure('insufficient_scope'), principal: result.principal };
    }
    return result;
  }

  /**
   * The verifier's answer, awaited, as a result: a principal passes on if the request is
   * within its restrictions, anything else is refused.
   */
  function settle(value: unknown, scheme: ApiKeyScheme, source: KeySource): AuthResult<P> {
    if (typeof value === 'object' && value !== null) {
      if (isAuthFailure(value)) return { ok: false, failure: value };
      if (!Array.isArray(value) && !(value instanceof Error)) {
        let refused: AuthFailure | undefined;
        try {
          const restriction = restrictionsOf(value as P);
          // Most principals have none: one property read, nothing allocated.
          if (restriction) refused = restriction.refusal(source, clientAddress);
        } catch (error) {
          return verifierError(error);
        }
        if (refused !== undefined) return { ok: false, failure: refused };
        const headers = deprecations.size === 0 ? undefined : deprecations.get(scheme);
        return authorize({ ok: true, principal: value as P, scheme, headers, cacheControl });
      }
    } else if (!value) {
      // null, undefined, false, '', 0, NaN (and 0n): every falsy value means "no such key".
      return reject('invalid');
    }
    return verifierError(notAPrincipal(value));
  }

  /**
   * The whole decision for a verifier's answer: principal, restrictions and scopes, then
   * the rate limit, then, last, what the request costs. Sync whenever nothing along the
   * way is async.
   */
  function decide(
    value: unknown,
    scheme: ApiKeyScheme,
    source: KeySource,
  ): AuthResult<P> | Promise<AuthResult<P>> {
    if (!isSpendable(value)) return admit(settle(value, scheme, source));
    const settled = settle(value.principal, scheme, source);
    if (!settled.ok) return settled;
    const admitted = admit(settled);
    if (!(admitted instanceof Promise)) return admitted.ok ? pay(admitted, value) : admitted;
    return admitted.then((r) => (r.ok ? pay(r, value) : r));
  }

  /** Takes what the request costs; the result stands only if it is paid. */
  function pay(result: AuthResult<P>, verdict: Spendable<unknown>): AuthResult<P> | Promise<AuthResult<P>> {
    let spent: Spent | PromiseLike<Spent>;
    try {
      spent = verdict.spend(cost);
    } catch (error) {
      return verifierError(error);
    }
    if (spent === undefined) return result;
    if (isAuthFailure(spent)) return { ok: false, failure: spent, principal: result.principal };
    if (typeof (spent as { then?: unknown }).then === 'function') {
      return Promise.resolve(spent).then((f) => (f === undefined ? result : paid(result, f)), verifierError);
    }
    return paid(result, spent);
  }

  function paid(result: AuthResult<P>, spent: unknown): AuthResult<P> {
    if (spent === undefined) return result;
    if (isAuthFailure(spent)) return { ok: false, failure: spent, principal: result.principal };
    const headers = (spent as { headers?: unknown } | null)?.headers;
    if (result.ok && typeof headers === 'object' && headers !== null) {
      return {
        ...result,
        headers: { ...result.headers, ...(headers as Record<string, string>) },
      } as AuthResult<P>;
    }
    return verifierError(new TypeError('spend must answer undefined, a receipt or an AuthFailure'));
  }

  function authenticate(source: KeySource): AuthResult<P> | Promise<AuthResult<P>> {
    for (const scheme of schemes) {
      const key = extractKey(scheme, source);
      if (key === undefined) continue;
      if (key === DUPLICATE) return reject('duplicate');
      // Anything the limits throw (a custom limiter, ruleOf) fails closed like a verifier error.
      if (limits?.limitsFailures) return watched(limits, source, key, scheme).catch(verifierError);
      if (!plausible(key, maxKeyLength)) return reject('invalid');
      let value: unknown;
      let thenable: boolean;
      try {
        value = verify(key, contexts.get(scheme)!);
        // Any thenable is awaited, not only a native Promise: knex, Drizzle and Mongoose
        // queries and promises from another realm are thenables, and each is truthy.
        thenable = typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
      } catch (error) {
        return verifierError(error);
      }
      if (thenable) return Promise.resolve(value).then((v) => decide(v, scheme, source), verifierError);
      return decide(value, scheme, source);
    }
    return optional ? anonymous : reject('missing');
  }

  /**
   * Applies the per-key rate limit, if the principal has one: sync, with no promise, when
   * there are no limits or the principal has no rule.
   */
  function admit(result: AuthResult<P>): AuthResult<P> | Promise<AuthResult<P>> {
    if (!limits || !result.ok || result.scheme === undefined) return result;
    let admission: Promise<Record<string, string> | AuthFailure> | undefined;
    try {
      const rule = limits.ruleFor(result.principal);
      admission =
        rule || limits.ownerRuleFor?.(result.principal) ? limits.admit(result.principal, rule) : undefined;
    } catch (error) {
      return verifierError(error);
    }
    if (admission === undefined) return result;
    return admission.then(
      (admitted): AuthResult<P> =>
        isAuthFailure(admitted)
          ? { ok: false, failure: admitted, principal: result.principal }
          : { ...result, headers: withDeprecation(admitted, result.scheme) },
      verifierError,
    );
  }

  // With failed attempts limited per address: the same steps, watched. Kept apart so the
  // common path stays sync.
  async function watched(
    limits: GuardLimits<P>,
    source: KeySource,
    key: string,
    scheme: ApiKeyScheme,
  ): Promise<AuthResult<P>> {
    const address = limits.address(source);
    const wait = limits.blockedFor(address);
    // A blocked address learns nothing from its guesses: its keys are not even checked,
    // except keys verified good from it before (clients sharing it behind NAT) and keys
    // the verifier knows. Those are still verified in full: a revoked one still fails.
    if (
      wait > 0 &&
      !(plausible(key, maxKeyLength) && (limits.knownFrom?.(address, key) || verify.knows?.(key)))
    )
      return { ok: false, failure: limits.blocked(wait) };
    let value: unknown;
    try {
      value = plausible(key, maxKeyLength) ? await verify(key, contexts.get(scheme)!) : undefined;
    } catch (error) {
      return verifierError(error);
    }
    const principal = isSpendable(value) ? value.principal : value;
    const settled = settle(principal, scheme, source);
    if (!settled.ok) {
      if (settled.failure.code !== 'invalid') return settled;
      return { ok: false, failure: await limits.failed(address, settled.failure) };
    }
    limits.verified?.(address, key);
    return decide(value, scheme, source);
  }

  function verifierError(error: unknown): AuthResult<P> {
    // A verifier that throws must not become a 500 nor a pass: fail closed with a 503
    // unless it threw a deliberate AuthFailure.
    if (error instanceof AuthFailure) return { ok: false, failure: error };
    onError(error);
    return reject('unavailable');
  }

  function respond(f: AuthFailure): FailureResponse {
    // A failure that adds nothing to its code is answered as the code's own: its reason is
    // for observers only, and its response is built once.
    if (f.retryAfter === undefined && f.headers === undefined) f = failure(f.code);
    const cached = responses.get(f);
    if (cached) return cached;
    const response = challenged(uncacheable(onFailure(f)));
    if (f === FAILURES[f.code]) responses.set(f, response);
    return response;
  }

  const observe = options.observe;
  // Timed only when observed by a function that takes the time: two clock reads a request
  // otherwise saved.
  const untimed =
    observe && observe.length === 1
      ? (source: KeySource): AuthResult<P> | Promise<AuthResult<P>> => {
          const result = authenticate(source);
          if (!(result instanceof Promise)) {
            observe(result, Number.NaN);
            return result;
          }
          return result.then((settled) => {
            observe(settled, Number.NaN);
            return settled;
          });
        }
      : undefined;
  const observed = untimed
    ? untimed
    : observe
      ? (source: KeySource): AuthResult<P> | Promise<AuthResult<P>> => {
          const started = performance.now();
          const result = authenticate(source);
          if (!(result instanceof Promise)) {
            observe(result, performance.now() - started);
            return result;
          }
          return result.then((settled) => {
            observe(settled, performance.now() - started);
            return settled;
          });
        }
      : authenticate;

  return Object.freeze({
    schemes,
    scopes,
    optional,
    family,
    authenticate: observed,
    authorize,
    respond,
    cost,
    require: (...more: (string | RouteOptions)[]) => {
      const last = more[more.length - 1];
      const route = typeof last === 'object' && last !== null ? (more.pop() as RouteOptions) : undefined;
      const next = route?.cost === undefined ? cost : checkCost(route.cost);
      return build(options, schemes, maxKeyLength, limits, family, [...scopes, ...(more as string[])], next);
    },
  }) as Guard<P>;
}
