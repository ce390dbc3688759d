import { hash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TagBloom, tagOf } from './key-tag.js';

describe('tagOf', () => {
  it('is the first 32 bits of the digest, big-endian and signed', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const bytes = hash('sha256', text, 'buffer') as Buffer;
        expect(tagOf(bytes.toString('latin1'))).toBe(bytes.readInt32BE(0));
      }),
    );
  });

  it('gives the tags stored before the digest was latin1 (the first 32 bits of the base64url form)', () => {
    // Version 0.1 computed tags from the base64url digest: six characters, 36 bits, top 32.
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const v = (c: string) => B64.indexOf(c);
    const before = (d: string) =>
      (v(d[0]!) << 26) |
      (v(d[1]!) << 20) |
      (v(d[2]!) << 14) |
      (v(d[3]!) << 8) |
      (v(d[4]!) << 2) |
      (v(d[5]!) >> 4);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
        const bytes = Buffer.from(raw);
        expect(tagOf(bytes.toString('latin1'))).toBe(before(bytes.toString('base64url')));
      }),
    );
  });
});

describe('TagBloom', () => {
  it('never answers "absent" for a tag it was given', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 3000 }),
        (tags) => {
          const bloom = new TagBloom(tags.length);
          for (const t of tags) bloom.add(t);
          expect(tags.every((t) => bloom.has(t))).toBe(true);
        },
      ),
    );
  });

  it('lets through under 1 % of absent tags at its capacity, and says when it is over it', () => {
    const capacity = 100_000;
    const bloom = new TagBloom(capacity);
    const present = new Set<number>();
    while (present.size < capacity) {
      const t = randomBytes(4).readInt32BE();
      if (present.has(t)) continue;
      present.add(t);
      bloom.add(t);
    }
    expect(bloom.full).toBe(false);
    let passed = 0;
    let tried = 0;
    while (tried < 100_000) {
      const t = randomBytes(4).readInt32BE();
      if (present.has(t)) continue;
      tried++;
      if (bloom.has(t)) passed++;
    }
    expect(passed / tried).toBeLessThan(0.01);
    bloom.add(1);
    expect(bloom.full).toBe(true);
  });
});
