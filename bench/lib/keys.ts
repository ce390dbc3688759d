/**
 * Key material for the load cases: the one 43-character static key of the peers and the
 * staticKeys servers, and files of keys the flood script cycles through. Store-issued
 * keys and well-formed unknown keys come from bench/lib/keystore.ts (the real format).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `n` random base62 characters (rejection sampling keeps them uniform). */
export function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += BASE62[b % 62];
    }
  }
  return out;
}

/** A 43-character key with keyward's `kw_` prefix: the length the issue fixes for all peers. */
export function staticKey(): string {
  return `kw_${randomBase62(40)}`;
}

/** The same key with its last character changed: right shape and length, wrong value. */
export function corrupt(key: string): string {
  const last = key.at(-1)!;
  return key.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

/** Writes keys one per line (the format bench/lua/flood.lua reads). */
export function writeKeyFile(path: string, keys: Iterable<string>): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${[...keys].join('\n')}\n`, { mode: 0o600 });
  return path;
}

/** `count` keys from a generator. */
export function* take(count: number, make: () => string): Generator<string> {
  for (let i = 0; i < count; i++) yield make();
}
