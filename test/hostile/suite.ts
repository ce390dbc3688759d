/**
 * The hostile-input harness: every case is sent as raw bytes to every adapter's
 * conformance app (test/conformance/apps.ts), and each answer is checked twice:
 *
 * 1. Invariants that hold for every request: never a 5xx; never protected data unless the
 *    case expects it; never a key (or its percent-encoded form) anywhere in the response
 *    head or body; every answer from the app is JSON; the verifier only ever sees keys of
 *    1-256 visible ASCII characters (longer or stranger keys are refused before any
 *    hashing or lookup).
 * 2. The exact outcome: status and JSON body, or a short list of exact alternatives where
 *    frameworks legitimately differ (a router answering 404 instead of the guard's 401).
 *
 * The one non-JSON answer allowed is {@link BEFORE_APP}: a 400 or 431 with an empty body
 * (or the framework's own JSON client-error body, as Fastify writes), written by Node's HTTP parser (control characters, over-long heads, invalid methods,
 * request smuggling shapes) or by the framework's Node bridge before any application code
 * or middleware runs. No key was read, so nothing was decided about it. A request that
 * reaches the app always gets JSON. ({@link CLOSED}, no answer at all, is allowed only for
 * CONNECT, which Node hands to a `connect` listener that none of the apps has.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceApps } from '../conformance/apps.js';
import { type ConformanceServer, defaultVerify, KEYS } from '../conformance/fixture.js';
import { type RawResponse, rawRequest } from './raw.js';

/** A wrong key of the right shape and length. */
export const WRONG = 'kw_wrong_0123456789abcdefghijklmnopqrstu';
/** The valid key with its last character changed. */
export const NEAR_MISS = `${KEYS.good.slice(0, -1)}x`;
const SECRETS = [KEYS.good, KEYS.admin, WRONG, NEAR_MISS];

export type Outcome =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  /** The router found no route: 404 (or 405) with a JSON body. */
  | { readonly kind: 'noRoute' }
  /** Answered by Node's parser or the server bridge before the app: 400/431, empty or JSON body. */
  | { readonly kind: 'beforeApp' }
  /** Node closed the connection without an answer (a CONNECT nobody listens for). */
  | { readonly kind: 'closed' };

const json = (status: number, body: unknown): Outcome => ({ kind: 'json', status, body });
export const MISSING = json(401, { detail: 'Not authenticated' });
export const INVALID = json(401, { detail: 'Invalid API Key' });
export const DUPLICATE = json(400, { detail: 'API key sent more than once' });
export const FORBIDDEN = json(403, { detail: 'Insufficient scope' });
export const DATA = json(200, { message: 'You have access to secure data', principal: 'good' });
export const ADMIN_DATA = json(200, { message: 'You have access to admin data' });
export const HEALTH = json(200, { status: 'ok' });
export const NO_ROUTE: Outcome = { kind: 'noRoute' };
export const BEFORE_APP: Outcome = { kind: 'beforeApp' };
export const CLOSED: Outcome = { kind: 'closed' };

export interface HostileCase {
  readonly name: string;
  /** The request exactly as sent (latin-1 string or bytes); build it with `httpRequest`. */
  readonly request: string | Buffer;
  /** The exact outcome, or the exact alternatives frameworks may legitimately choose from. */
  readonly expect: Outcome | readonly Outcome[];
  /** Strings besides the fixture keys that must never come back. */
  readonly secrets?: readonly string[];
  /** How often the verifier must run: 0 asserts the key was refused before any lookup. */
  readonly verifyCalls?: number;
}

export interface SuiteOptions {
  /**
   * Cases a given adapter is known to fail, by app name: run as `it.fails` so the suite
   * stays green while the failure stays visible (and turns red once it is fixed).
   */
  readonly knownFailures?: Readonly<Record<string, readonly string[]>>;
}

function isJson(res: RawResponse): boolean {
  const type = res.headers['content-type']?.[0] ?? '';
  return /^application\/(problem\+)?json\b/i.test(type);
}

function parsed(res: RawResponse): unknown {
  try {
    return JSON.parse(res.body);
  } catch {
    return Symbol('not json');
  }
}

function matches(res: RawResponse, outcome: Outcome, head: boolean): boolean {
  switch (outcome.kind) {
    case 'beforeApp':
      // Node writes no body; Fastify's clientError handler writes a JSON one.
      return (res.status === 400 || res.status === 431) && (res.body === '' || isJson(res));
    case 'closed':
      return res.status === 0 && res.head === '';
    case 'noRoute': {
      if (res.status !== 404 && res.status !== 405) return false;
      if (!isJson(res)) return false;
      const body = parsed(res);
      return head ? res.body === '' : typeof body === 'object' && body !== null;
    }
    case 'json':
      if (res.status !== outcome.status || !isJson(res)) return false;
      if (head) return res.body === '';
      try {
        expect(parsed(res)).toEqual(outcome.body);
        return true;
      } catch {
        return false;
      }
  }
}

function describeOutcome(o: Outcome): string {
  return o.kind === 'json' ? `${o.status} ${JSON.stringify(o.body)}` : o.kind;
}

/** Checks the invariants and the exact outcome of one answer. */
export function assertOutcome(res: RawResponse, c: HostileCase): void {
  const expected = Array.isArray(c.expect) ? (c.expect as readonly Outcome[]) : [c.expect as Outcome];
  const head = /^HEAD /.test(String(c.request).slice(0, 5));
  const got = `got ${res.status} ${res.headers['content-type']?.[0] ?? '(no type)'} ${JSON.stringify(res.body.slice(0, 160))}`;
  expect(res.status, `${c.name}: never a 5xx; ${got}`).toBeLessThan(500);
  if (!expected.includes(CLOSED)) {
    expect(res.status, `${c.name}: the server must answer; ${got}`).toBeGreaterThan(0);
  }
  const leakedData = /You have access to/.test(res.body);
  const mayLeak = expected.includes(DATA) || expected.includes(ADMIN_DATA);
  expect(leakedData && !mayLeak, `${c.name}: protected data without a valid key; ${got}`).toBe(false);
  for (const secret of [...SECRETS, ...(c.secrets ?? [])]) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      expect(res.head.includes(form), `${c.name}: key echoed in the response head`).toBe(false);
      expect(res.body.includes(form), `${c.name}: key echoed in the response body`).toBe(false);
    }
  }
  if (res.body !== '' || head) {
    expect(isJson(res), `${c.name}: every answer from the app is JSON; ${got}`).toBe(true);
  }
  const ok = expected.some((o) => matches(res, o, head));
  expect(ok, `${c.name}: expected ${expected.map(describeOutcome).join(' or ')}; ${got}`).toBe(true);
  if (ok && res.status === 401) {
    expect(res.headers['www-authenticate']?.[0], `${c.name}: a 401 carries a challenge`).toBe('APIKey');
  }
}

/** A key the guard may hand to a verifier: 1-256 visible ASCII characters. */
function plausible(key: string): boolean {
  return /^[\x21-\x7e]{1,256}$/.test(key);
}

/** Runs the cases against every conformance app, one test per case. */
export function hostileSuite(category: string, cases: readonly HostileCase[], options: SuiteOptions = {}) {
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`duplicate hostile case name: ${c.name}`);
    names.add(c.name);
  }
  describe.each(conformanceApps.map((app) => ({ name: app.name, app })))(`${category} ($name)`, ({ app }) => {
    const seen: string[] = [];
    let server: ConformanceServer | undefined;
    beforeAll(async () => {
      const inner = defaultVerify();
      server = await app.start({
        verify: (key, context) => {
          seen.push(key);
          return inner(key, context);
        },
      });
    });
    afterAll(async () => {
      await server?.close();
    });
    const known = new Set(options.knownFailures?.[app.name] ?? []);
    for (const c of cases) {
      (known.has(c.name) ? it.fails : it)(c.name, async () => {
        const before = seen.length;
        const res = await rawRequest(server!.url, c.request);
        assertOutcome(res, c);
        const calls = seen.slice(before);
        for (const key of calls) {
          expect(plausible(key), `${c.name}: an implausible key reached the verifier`).toBe(true);
        }
        if (c.verifyCalls !== undefined) {
          expect(calls.length, `${c.name}: verifier calls`).toBe(c.verifyCalls);
        }
      });
    }
  });
}
