import type { KeyPage, KeyRecord, ListQuery } from '../store/types.js';
import { KeyInputError } from './errors.js';
import { encodeCursor, type KeyState, keyState } from './records.js';

/** The states a listing can be narrowed to (see {@link keyState}). */
export const KEY_STATES: readonly KeyState[] = ['active', 'expired', 'revoked', 'disabled'];

/** Conditions on a key record, all of which must hold (see {@link matchesKeyFilter}). */
export interface KeyFilter {
  /** The key's state now. */
  state?: KeyState;
  /** The key has this scope. */
  scope?: string;
  /** The key is active and expires within this many milliseconds. */
  expiringWithinMs?: number;
  /** Not used for this long: last used (or, never used, created) this many milliseconds ago or more. */
  staleForMs?: number;
  /** The name contains this text, ignoring case. */
  nameContains?: string;
}

/** Whether a record meets every condition of the filter at `now`. */
export function matchesKeyFilter(record: KeyRecord, filter: KeyFilter, now: number = Date.now()): boolean {
  const state = keyState(record, now);
  if (filter.state !== undefined && state !== filter.state) return false;
  if (filter.scope !== undefined && !record.scopes.includes(filter.scope)) return false;
  if (filter.expiringWithinMs !== undefined) {
    if (state !== 'active' || record.expiresAt === null) return false;
    if (record.expiresAt.getTime() - now > filter.expiringWithinMs) return false;
  }
  if (filter.staleForMs !== undefined) {
    const last = (record.lastUsedAt ?? record.createdAt).getTime();
    if (now - last < filter.staleForMs) return false;
  }
  if (filter.nameContains !== undefined) {
    if (!record.name.toLowerCase().includes(filter.nameContains.toLowerCase())) return false;
  }
  return true;
}

/** Whether a filter has any condition. */
export function isEmptyKeyFilter(filter: KeyFilter): boolean {
  return Object.values(filter).every((v) => v === undefined);
}

/** Parses a state name as the CLI and APIs take it. */
export function parseKeyState(value: string): KeyState {
  if (!(KEY_STATES as readonly string[]).includes(value)) {
    throw new KeyInputError(`unknown state "${value}": use one of ${KEY_STATES.join(', ')}`);
  }
  return value as KeyState;
}

/** Anything that lists keys page by page: a `KeyManager` or a `KeyStore`. */
export interface KeyLister {
  list(query: ListQuery): Promise<KeyPage>;
}

/**
 * Every key in creation order, read a page at a time (memory stays at one page however
 * many keys there are), optionally only one owner's and only those matching `filter`.
 */
export async function* eachKey(
  source: KeyLister,
  options: { owner?: string; cursor?: string; pageSize?: number; filter?: KeyFilter; now?: number } = {},
): AsyncGenerator<KeyRecord> {
  const filter = options.filter ?? {};
  const now = options.now ?? Date.now();
  let cursor = options.cursor;
  do {
    const page = await source.list({ owner: options.owner, limit: options.pageSize ?? 1000, cursor });
    for (const record of page.items) if (matchesKeyFilter(record, filter, now)) yield record;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/**
 * One page of the keys matching `filter`: up to `limit` of them, and the cursor to go on
 * from (it points after the last key examined, matching or not). A filter that matches
 * few keys reads through the store a page at a time until the page is full.
 */
export async function filteredPage(
  source: KeyLister,
  query: { owner?: string; cursor?: string; limit: number; filter: KeyFilter; now?: number },
): Promise<KeyPage> {
  const now = query.now ?? Date.now();
  const items: KeyRecord[] = [];
  let cursor = query.cursor;
  for (;;) {
    const page = await source.list({ owner: query.owner, limit: 1000, cursor });
    for (let i = 0; i < page.items.length; i++) {
      const record = page.items[i]!;
      if (!matchesKeyFilter(record, query.filter, now)) continue;
      items.push(record);
      if (items.length === query.limit) {
        const more = i < page.items.length - 1 || page.nextCursor !== null;
        return { items, nextCursor: more ? encodeCursor(record.id) : null };
      }
    }
    if (page.nextCursor === null) return { items, nextCursor: null };
    cursor = page.nextCursor;
  }
}
