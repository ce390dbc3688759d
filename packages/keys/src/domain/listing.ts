import type { AuditQuery, KeyRecord, ListQuery } from '../store/types.js';
import { KeyInputError } from './errors.js';
import { checkLabel } from './input.js';
import { type KeyState, keyState } from './records.js';

// Control characters (NUL is no PostgreSQL text) and unpaired surrogates (no UTF-8).
const UNSAFE_TEXT =
  /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const STATES: readonly KeyState[] = ['active', 'expired', 'revoked', 'disabled'];

/** The filters of a list query, checked, with search text folded for matching. */
export interface ListFilter {
  readonly owner: string | undefined;
  readonly status: KeyState | undefined;
  readonly scope: string | undefined;
  /** The search text with ASCII letters lower-cased (SQL `lower()` folds exactly these). */
  readonly q: string | undefined;
  /** The search text as given, which an id must equal. */
  readonly id: string | undefined;
}

/** Lower-cases A-Z only, as SQLite's `lower()` does and PostgreSQL's `translate` below does. */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** The ASCII upper- and lower-case alphabets, for SQL `translate(text, upper, lower)`. */
export const ASCII_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const ASCII_LOWER = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Checks a list query's filters (stores call this before querying): `status` one of the
 * key states, `scope` and `q` short visible text. Rejects with `KeyInputError`.
 */
export function listFilter(query: ListQuery): ListFilter {
  const { owner, status, scope, q } = query;
  if (owner !== undefined) checkLabel(owner, 'owner');
  if (status !== undefined && !STATES.includes(status)) {
    throw new KeyInputError(`status must be one of ${STATES.join(', ')}`);
  }
  if (scope !== undefined && (typeof scope !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(scope))) {
    throw new KeyInputError('scope must be 1-128 visible ASCII characters');
  }
  if (q !== undefined && (typeof q !== 'string' || q.length > 200 || UNSAFE_TEXT.test(q))) {
    throw new KeyInputError('q must be text of at most 200 characters without control characters');
  }
  const text = q === undefined || q === '' ? undefined : q;
  return { owner, status, scope, q: text && asciiLower(text), id: text };
}

/**
 * Whether a record passes a list filter at `now` (ms): the rule each store's query
 * implements. `q` matches the id exactly, or a substring of the name or the owner,
 * ASCII letters case-insensitively.
 */
export function listMatches(record: KeyRecord, filter: ListFilter, now: number): boolean {
  if (filter.owner !== undefined && record.owner !== filter.owner) return false;
  if (filter.status !== undefined && keyState(record, now) !== filter.status) return false;
  if (filter.scope !== undefined && !record.scopes.includes(filter.scope)) return false;
  if (filter.q !== undefined) {
    const q = filter.q;
    const hit =
      record.id === filter.id ||
      asciiLower(record.name).includes(q) ||
      (record.owner !== null && asciiLower(record.owner).includes(q));
    if (!hit) return false;
  }
  return true;
}

/** Checks an audit query's `owner` and `since`. Rejects with `KeyInputError`. */
export function auditFilter(query: AuditQuery): void {
  if (query.owner !== undefined) checkLabel(query.owner, 'owner');
  if (query.since !== undefined && !(query.since instanceof Date && Number.isFinite(query.since.getTime()))) {
    throw new KeyInputError('since must be a valid Date');
  }
  if (query.before !== undefined && (!Number.isSafeInteger(query.before) || query.before < 1)) {
    throw new KeyInputError('before must be a positive integer');
  }
}

/** A claimed idempotency key never finished for this long belongs to a crashed request: it is taken over. */
export const IDEMPOTENCY_PENDING_MS = 60_000;
