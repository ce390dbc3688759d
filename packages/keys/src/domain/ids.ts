import { encodeFixed, randomBase62 } from './base62.js';

/** `key_` + 8 base62 digits of the creation time in ms + 10 random base62 characters. */
const KEY_ID = /^key_[0-9A-Za-z]{18}$/;

/**
 * A new key id. Ids sort by creation time under plain byte-wise comparison (SQL stores
 * need a binary collation, e.g. `COLLATE "C"` in PostgreSQL), which gives stable paging.
 */
export function newKeyId(now: number = Date.now()): string {
  return `key_${encodeFixed(now, 8)}${randomBase62(10)}`;
}

export function isKeyId(value: string): boolean {
  return KEY_ID.test(value);
}
