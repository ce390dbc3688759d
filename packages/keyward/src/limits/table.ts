/** Slots per set: a key can live in one set only, and a full set gives up its least recently used entry. */
const WAYS = 8;
const MAX_VALUE = 0xffff_ffff;

function seed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * A fixed-size table of expiring entries with a small number each (a count), for state
 * kept per client address. Keys are stored as two 32-bit hashes under random per-table
 * seeds, never as strings, and the whole table is a few typed arrays: no object per
 * entry, so a flood of distinct keys makes no garbage for the collector, and memory is
 * fixed when the table is made (about 28 bytes a slot). Set-associative: past the
 * capacity, the least recently used entry of the key's set of eight is replaced.
 *
 * Two keys share an entry only if both 32-bit hashes collide (about 2^-64 a pair). The
 * seeds are secret, so a client cannot aim a key at another's entry.
 */
export class ExpiringTable {
  /** Slots: the `max` asked for, rounded up to a multiple of eight. */
  readonly capacity: number;
  readonly #sets: number;
  readonly #hi: Uint32Array;
  readonly #lo: Uint32Array;
  readonly #values: Uint32Array;
  // performance.now() (monotonic) at which each entry expires; 0 marks an empty slot.
  readonly #expires: Float64Array;
  readonly #used: Float64Array;
  readonly #seedHi = seed();
  readonly #seedLo = seed();
  #tick = 0;
  // The two hashes of the key of the last find(), for the insert() that may follow it.
  #h = 0;
  #l = 0;

  constructor(max: number) {
    this.#sets = Math.max(1, Math.ceil(max / WAYS));
    this.capacity = this.#sets * WAYS;
    this.#hi = new Uint32Array(this.capacity);
    this.#lo = new Uint32Array(this.capacity);
    this.#values = new Uint32Array(this.capacity);
    this.#expires = new Float64Array(this.capacity);
    this.#used = new Float64Array(this.capacity);
  }

  #hash(key: string): void {
    // Two independent multiply-xorshift hashes of the UTF-16 code units.
    let h = this.#seedHi ^ key.length;
    let l = this.#seedLo ^ key.length;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h = Math.imul(h ^ c, 0x5bd1e995);
      h ^= h >>> 15;
      l = Math.imul(l ^ c, 0x27d4eb2f);
      l ^= l >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    l = Math.imul(l ^ (l >>> 16), 0x7feb352d);
    l = Math.imul(l ^ (l >>> 15), 0x846ca68b);
    this.#h = (h ^ (h >>> 16)) >>> 0;
    this.#l = (l ^ (l >>> 16)) >>> 0;
  }

  /** The slot of `key` if it holds an unexpired entry, else -1. */
  find(key: string, now: number): number {
    this.#hash(key);
    const base = (this.#l % this.#sets) * WAYS;
    for (let s = base; s < base + WAYS; s++) {
      if (this.#expires[s] === 0 || this.#hi[s] !== this.#h || this.#lo[s] !== this.#l) continue;
      if (this.#expires[s]! <= now) {
        this.#expires[s] = 0;
        return -1;
      }
      this.#used[s] = ++this.#tick;
      return s;
    }
    return -1;
  }

  /**
   * Adds an entry for the key of the last {@link find} (which answered -1), in an empty or
   * expired slot of its set, else in place of the set's least recently used entry.
   */
  insert(now: number, expires: number, value: number): number {
    const base = (this.#l % this.#sets) * WAYS;
    let slot = base;
    for (let s = base; s < base + WAYS; s++) {
      if (this.#expires[s]! <= now) {
        slot = s;
        break;
      }
      if (this.#used[s]! < this.#used[slot]!) slot = s;
    }
    this.#hi[slot] = this.#h;
    this.#lo[slot] = this.#l;
    this.#values[slot] = Math.min(value, MAX_VALUE);
    this.#expires[slot] = expires;
    this.#used[slot] = ++this.#tick;
    return slot;
  }

  value(slot: number): number {
    return this.#values[slot]!;
  }

  setValue(slot: number, value: number): void {
    this.#values[slot] = Math.min(value, MAX_VALUE);
  }

  expires(slot: number): number {
    return this.#expires[slot]!;
  }

  setExpires(slot: number, expires: number): void {
    this.#expires[slot] = expires;
  }

  /**
   * Whole seconds until the entry expires, at least 1: for `Retry-After`. Whole
   * milliseconds first, so that float noise in `now + window - now` cannot add a second.
   */
  secondsLeft(slot: number, now: number): number {
    return Math.max(1, Math.ceil(Math.floor(this.#expires[slot]! - now) / 1000));
  }

  /** Unexpired entries (a scan: for tests and measurements, not the request path). */
  size(now: number): number {
    let n = 0;
    for (let s = 0; s < this.capacity; s++) if (this.#expires[s]! > now) n++;
    return n;
  }
}
