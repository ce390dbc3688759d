/**
 * Key tags: 32 bits of a key's keyed digest, stored beside its hash, so a store can keep
 * a filter of every stored key's tag in memory and refuse a made-up key without a lookup (a
 * key-guessing flood then costs what a cached key costs). A filter only says "maybe": a
 * few made-up keys in a thousand still reach the store.
 */

/**
 * The tag of a key: the first 32 bits of its digest (`KeyHasher.digest`, one character
 * per byte), big-endian, as a signed 32-bit integer. Stored tags depend on this value
 * only, not on how the digest is encoded.
 */
export function tagOf(digest: string): number {
  return (
    (digest.charCodeAt(0) << 24) |
    (digest.charCodeAt(1) << 16) |
    (digest.charCodeAt(2) << 8) |
    digest.charCodeAt(3)
  );
}

/** Filter bits per tag it is sized for: about 0.3 % of absent tags pass, in 1.5 bytes per tag. */
const BITS_PER_TAG = 12;
const PROBES = 8;

/** MurmurHash3's finalizer: every bit of the result depends on every bit of `x`. */
function mix(x: number): number {
  let h = x ^ (x >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * A Bloom filter of 32-bit tags, sized for `capacity` tags (1.5 MB per million): no
 * object per entry, a few cache lines per probe. It never forgets (a deleted key's tag
 * stays, which is harmless) and never errs on "no"; `full` says when it has taken more
 * tags than it was sized for and should be rebuilt bigger.
 */
export class TagBloom {
  readonly #words: Int32Array;
  readonly #mask: number;
  readonly capacity: number;
  #added = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1024, Math.ceil(capacity));
    let bits = 1 << 16;
    while (bits < this.capacity * BITS_PER_TAG) bits *= 2;
    this.#words = new Int32Array(bits / 32);
    this.#mask = bits - 1;
  }

  get full(): boolean {
    return this.#added > this.capacity;
  }

  add(tag: number): void {
    const words = this.#words;
    // Double hashing: the tag's low bits, then steps mixed from all of its bits (an
    // odd step visits distinct bits).
    let h = tag >>> 0;
    const step = mix(tag) | 1;
    for (let i = 0; i < PROBES; i++) {
      const bit = h & this.#mask;
      words[bit >>> 5]! |= 1 << (bit & 31);
      h = (h + step) >>> 0;
    }
    this.#added++;
  }

  has(tag: number): boolean {
    const words = this.#words;
    let h = tag >>> 0;
    const step = mix(tag) | 1;
    for (let i = 0; i < PROBES; i++) {
      const bit = h & this.#mask;
      if ((words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
      h = (h + step) >>> 0;
    }
    return true;
  }
}
