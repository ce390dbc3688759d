import { describe, expect, it } from 'vitest';
import { ExpiringTable } from './table.js';

describe('ExpiringTable', () => {
  const put = (t: ExpiringTable, key: string, now: number, expires: number, value = 1) => {
    const slot = t.find(key, now);
    return slot === -1 ? t.insert(now, expires, value) : slot;
  };

  it('rounds its capacity up to sets of eight and never holds more', () => {
    const t = new ExpiringTable(10);
    expect(t.capacity).toBe(16);
    for (let i = 0; i < 1000; i++) put(t, `k${i}`, 1, 1000);
    expect(t.size(1)).toBe(16);
  });

  it('finds an entry until it expires, with its value', () => {
    const t = new ExpiringTable(8);
    const slot = put(t, 'a', 1, 100, 3);
    expect(t.find('a', 50)).toBe(slot);
    expect(t.value(slot)).toBe(3);
    expect(t.expires(slot)).toBe(100);
    expect(t.find('b', 50)).toBe(-1);
    expect(t.find('a', 100)).toBe(-1);
    expect(t.size(100)).toBe(0);
  });

  it('gives way to a new key with the least recently used entry of a full set', () => {
    const t = new ExpiringTable(8); // one set
    for (let i = 0; i < 8; i++) put(t, `k${i}`, 1, 1000);
    t.find('k0', 2); // k0 is now the most recently used; k1 the least
    put(t, 'new', 3, 1000);
    expect(t.find('k1', 4)).toBe(-1);
    for (const k of ['k0', 'k2', 'k7', 'new']) expect(t.find(k, 4)).not.toBe(-1);
  });

  it('reuses expired slots before evicting live ones', () => {
    const t = new ExpiringTable(8);
    for (let i = 0; i < 7; i++) put(t, `live${i}`, 1, 1000);
    put(t, 'short', 1, 10);
    put(t, 'new', 20, 1000);
    for (let i = 0; i < 7; i++) expect(t.find(`live${i}`, 21)).not.toBe(-1);
  });

  it('gives whole seconds left, never one more for float noise', () => {
    const t = new ExpiringTable(8);
    const now = 1096.8540274876038; // (now + 1000) - now is 1000.0000000000002
    const slot = put(t, 'a', now, now + 1000);
    expect(t.secondsLeft(slot, now)).toBe(1);
    expect(t.secondsLeft(slot, now + 999.9)).toBe(1);
    const long = put(t, 'b', now, now + 60_000);
    expect(t.secondsLeft(long, now + 0.3)).toBe(60);
  });

  it('keeps values within 32 bits', () => {
    const t = new ExpiringTable(8);
    const slot = put(t, 'a', 1, 100);
    t.setValue(slot, 2 ** 40);
    expect(t.value(slot)).toBe(0xffff_ffff);
  });
});
