import { randomFillSync } from 'node:crypto';

/**
 * The base62 alphabet in ASCII order, so fixed-width base62 strings sort like the
 * numbers they encode (ids are time-ordered by plain string comparison).
 */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE62.length; i++) VALUE[BASE62.charCodeAt(i)] = i;

/** The value of one base62 character code, or -1. */
export function base62Value(code: number): number {
  return code < 128 ? VALUE[code]! : -1;
}

/** A non-negative safe integer as exactly `width` base62 digits (zero-padded). */
export function encodeFixed(value: number, width: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[v % 62]! + out;
    v = Math.floor(v / 62);
  }
  if (v !== 0) throw new RangeError(`${value} does not fit in ${width} base62 digits`);
  return out;
}

/** Decodes base62 digits of `text[start, end)`; -1 when a character is not base62. */
export function decodeFixed(text: string, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = base62Value(text.charCodeAt(i));
    if (d < 0) return -1;
    v = v * 62 + d;
  }
  return v;
}

const POOL = Buffer.alloc(4096);
let poolPos = POOL.length;

/**
 * `length` characters drawn uniformly from the CSPRNG. Bytes >= 248 are discarded
 * (248 = 4 * 62), so every character is exactly uniform: no modulo bias.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    if (poolPos >= POOL.length) {
      randomFillSync(POOL);
      poolPos = 0;
    }
    const b = POOL[poolPos]!;
    // Wipe as we go so no consumed randomness lingers in the pool.
    POOL[poolPos++] = 0;
    if (b < 248) out += BASE62[b % 62];
  }
  return out;
}
