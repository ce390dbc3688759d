import { type KeyObject, verify as verifySignature } from 'node:crypto';
import type { KeyManager, LeakResponse } from '@keyward/keys';
import type { Context, Hono } from 'hono';
import type { GithubKeys } from './github-keys.js';
import { boundedBody, noteRoute } from './request-body.js';

/** The route GitHub's secret scanning partner program posts matches to. */
export const SECRET_SCANNING_ROUTE = '/v1/secret-scanning/github';
/** Largest body accepted (1 MiB: 1,000 tokens with long URLs); larger gets 413 unread. */
export const MAX_SCANNING_BODY = 1024 * 1024;
/** Most tokens in one payload. */
export const MAX_SCANNING_TOKENS = 1000;
/** Who leak responses are attributed to in the audit log. */
export const SCANNING_ACTOR = 'github-secret-scanning';

/** Longest value of a payload field kept in the audit entry. */
const MAX_FIELD = 2048;
const MAX_TOKEN = 1024;
/** Base64 of a DER ECDSA P-256 signature: 70-72 bytes, about 96 characters. */
const SIGNATURE = /^[A-Za-z0-9+/]{16,256}={0,2}$/;
const CONTROL = /\p{Cc}/gu;

export type ScanningLabel = 'true_positive' | 'false_positive';

/** One match as GitHub sends it. */
export interface ScanningMatch {
  readonly token: string;
  readonly type: string;
  readonly url?: string;
  readonly source?: string;
}

/** What GitHub is answered for one match. */
export interface ScanningVerdict {
  readonly token_raw: string;
  readonly token_type: string;
  readonly label: ScanningLabel;
}

export interface SecretScanningOptions {
  readonly manager: KeyManager;
  readonly keys: GithubKeys;
  /** What a true positive does to the key (default `revoke`). */
  readonly action?: LeakResponse;
  /** Told about each leak recorded (key id, never the key) and each failure. */
  readonly log?: (line: string) => void;
}

const text = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' ? value.replace(CONTROL, '').slice(0, max) : undefined;

/** The matches of a payload, or a message saying why it is not one. */
export function parseMatches(body: string): ScanningMatch[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return 'the body is not JSON';
  }
  if (!Array.isArray(doc)) return 'the body must be a JSON array of matches';
  if (doc.length > MAX_SCANNING_TOKENS) return `at most ${MAX_SCANNING_TOKENS} tokens per request`;
  const out: ScanningMatch[] = [];
  for (const item of doc as unknown[]) {
    const m = (item ?? {}) as Record<string, unknown>;
    if (typeof m.token !== 'string' || m.token.length > MAX_TOKEN || typeof m.type !== 'string') {
      return 'each match needs a "token" (at most 1024 characters) and a "type"';
    }
    out.push({
      token: m.token,
      type: m.type,
      url: text(m.url, MAX_FIELD),
      source: text(m.source, 64),
    });
  }
  return out;
}

/**
 * Judges matches and responds to the leaks among them: a token of this deployment's
 * format whose checksum holds and which the store knows (whatever its state) is a true
 * positive, and the key is revoked, disabled or only noted as `action` says, with the
 * URL and source in the audit log (actor `github-secret-scanning`). Anything else is a
 * false positive, and a token whose checksum fails costs no lookup. The same report
 * again changes nothing.
 */
export async function judgeMatches(
  matches: readonly ScanningMatch[],
  manager: KeyManager,
  action: LeakResponse,
  log: (line: string) => void = () => {},
): Promise<ScanningVerdict[]> {
  // First every lookup, in one store query (a token whose checksum fails costs none);
  // then every leak in one call, which the store writes in one transaction.
  const valid = matches.flatMap((m, index) => (manager.format.classify(m.token) === 'valid' ? [index] : []));
  const records = await manager.findKeys(valid.map((i) => matches[i]!.token));
  const found: { index: number; id: string; detail: Record<string, string>; revoked: boolean }[] = [];
  valid.forEach((index, n) => {
    const record = records[n];
    if (record === undefined) return;
    const m = matches[index]!;
    const detail: Record<string, string> = { reporter: 'github', type: text(m.type, 256)! };
    if (m.url !== undefined) detail.url = m.url;
    if (m.source !== undefined) detail.source = m.source;
    found.push({ index, id: record.id, detail, revoked: record.revokedAt !== null });
  });
  const reports = found.length > 0 ? await manager.reportLeaks(found, action, { actor: SCANNING_ACTOR }) : [];
  const labels = new Array<ScanningLabel>(matches.length).fill('false_positive');
  found.forEach((f, i) => {
    const report = reports[i];
    // A key deleted since the lookup is left a false positive: nothing is left to protect.
    if (report === undefined) return;
    labels[f.index] = 'true_positive';
    if (report.recorded) {
      log(
        `keyward: GitHub secret scanning found key ${f.id} (${report.record.display}) at ${JSON.stringify(f.detail.url ?? 'an unknown place')}; leak action: ${action}`,
      );
    }
  });
  return matches.map((m, i) => ({ token_raw: m.token, token_type: m.type, label: labels[i]! }));
}

/** Whether `signature` (base64 DER ECDSA) signs `body` with SHA-256 under `key`; false for a malformed one. */
function signedBy(key: KeyObject, body: Buffer, signature: string): boolean {
  try {
    return verifySignature('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

const refuse = (c: Context, status: 400 | 401 | 413 | 503, detail: string, retryAfter?: number) => {
  if (retryAfter !== undefined) c.header('Retry-After', String(retryAfter));
  return c.json({ detail }, status);
};

/**
 * Mounts `POST /v1/secret-scanning/github`. The signature is checked before anything
 * else: `Github-Public-Key-Identifier` names one of GitHub's keys, and
 * `Github-Public-Key-Signature` must be its base64 DER ECDSA P-256 SHA-256 signature of
 * the raw body. Missing headers, an unknown identifier or a bad signature → 401; a body
 * over 1 MiB → 413 (unread); GitHub's keys not loaded → 503. Only then is the body read
 * as matches (400 when it is not `[{token, type, url, source}]` or has over 1,000).
 */
export function mountSecretScanning(app: Hono, options: SecretScanningOptions): void {
  const { manager, keys } = options;
  const action = options.action ?? 'revoke';
  const log = options.log ?? (() => {});
  app.post(SECRET_SCANNING_ROUTE, async (c) => {
    noteRoute(c, SECRET_SCANNING_ROUTE);
    c.header('Cache-Control', 'no-store');
    const id = c.req.header('github-public-key-identifier');
    const signature = c.req.header('github-public-key-signature');
    if (!id || !signature) return refuse(c, 401, 'missing GitHub signature headers');
    if (!SIGNATURE.test(signature)) return refuse(c, 401, 'invalid signature');
    const body = await boundedBody(c.req.raw, MAX_SCANNING_BODY);
    if (body === undefined) return refuse(c, 413, `the body is over ${MAX_SCANNING_BODY} bytes`);
    const key = await keys.get(id);
    if (key === undefined) {
      if (!keys.ready) return refuse(c, 503, "GitHub's public keys are not loaded yet", 60);
      return refuse(c, 401, 'unknown key identifier');
    }
    if (!signedBy(key, body, signature)) return refuse(c, 401, 'invalid signature');
    const matches = parseMatches(body.toString('utf8'));
    if (typeof matches === 'string') return refuse(c, 400, matches);
    try {
      return c.json(await judgeMatches(matches, manager, action, log));
    } catch (error) {
      // The store is down or busy: GitHub sends again, and a replay is harmless.
      log(
        `keyward: secret scanning report not processed (${error instanceof Error ? error.message : 'error'})`,
      );
      return refuse(c, 503, 'the key store is unavailable; try again', 5);
    }
  });
}
