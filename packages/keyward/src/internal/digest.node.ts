import { hash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a string (UTF-8), synchronously under Node. */
export function sha256(text: string): Uint8Array {
  return hash('sha256', text, 'buffer') as unknown as Uint8Array;
}

/** Constant-time equality of two digests of the same length. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
