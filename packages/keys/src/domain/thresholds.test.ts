import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../store/types.js';
import { thresholdsReached, usesSet } from './thresholds.js';

const entry = (changes: Record<string, unknown>): AuditEntry => ({
  seq: 1,
  at: new Date(0),
  actor: 'test',
  action: 'update',
  keyId: 'key_x',
  changes,
});

describe('usage thresholds', () => {
  it('reads the uses an entry set: a value on creation, {from, to} on update', () => {
    expect(usesSet(entry({ remainingUses: 10 }))).toBe(10);
    expect(usesSet(entry({ remainingUses: { from: 3, to: 50 } }))).toBe(50);
    expect(usesSet(entry({ remainingUses: { from: 3, to: null } }))).toBeNull();
    expect(usesSet(entry({ name: { from: 'a', to: 'b' } }))).toBeUndefined();
  });

  it('reaches 80 % and 100 % of the total spent, exactly at the boundary', () => {
    expect(thresholdsReached(10, 3)).toEqual([]);
    expect(thresholdsReached(10, 2)).toEqual([80]);
    expect(thresholdsReached(10, 1)).toEqual([80]);
    expect(thresholdsReached(10, 0)).toEqual([80, 100]);
    expect(thresholdsReached(3, 1)).toEqual([]); // 66 %
    expect(thresholdsReached(5, 1)).toEqual([80]);
    // Totals past 2^53 / 100 still compare exactly enough not to fire early.
    expect(thresholdsReached(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1)).toEqual([]);
  });

  it('reaches nothing for an empty total (a key made with no uses)', () => {
    expect(thresholdsReached(0, 0)).toEqual([]);
  });
});
