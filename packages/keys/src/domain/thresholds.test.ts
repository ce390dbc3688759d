import { describe, expect, it } from 'vitest';
import type { AuditEntry, OwnerRecord } from '../store/types.js';
import { ownerUpdateWrites } from './owners.js';
import { creditPeriod, creditsSet, thresholdsReached, usesSet } from './thresholds.js';

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

  it('reads the credits an owner entry set, and only from owner_create/owner_update', () => {
    expect(creditsSet({ ...entry({ owner: 'a', credits: 10 }), action: 'owner_create', keyId: null })).toBe(
      10,
    );
    expect(creditsSet({ ...entry({ credits: { from: 1, to: 5 } }), action: 'owner_update' })).toBe(5);
    expect(creditsSet({ ...entry({ credits: { from: 1, to: null } }), action: 'owner_update' })).toBeNull();
    expect(creditsSet({ ...entry({ rateLimit: null }), action: 'owner_update' })).toBeUndefined();
    expect(creditsSet(entry({ credits: 3 }))).toBeUndefined(); // a key's update
  });
});

describe("an owner's credit period", () => {
  const day = 24 * 60 * 60 * 1000;
  const now = Date.UTC(2026, 11, 6, 12);
  const midnight = Date.UTC(2026, 11, 6);
  const owner = (o: Partial<OwnerRecord>): OwnerRecord => ({
    name: 'acme',
    rateLimit: null,
    credits: 10,
    refill: null,
    refilledAt: null,
    metadata: {},
    maxLifetimeMs: null,
    restrictions: null,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...o,
  });
  const setter = (at: number, credits: number): AuditEntry => ({
    ...entry({ owner: 'acme', credits: { from: 0, to: credits } }),
    seq: 7,
    at: new Date(at),
    action: 'owner_update',
    keyId: null,
  });
  const refill = { amount: 100, period: 'day' as const, day: null, timeZone: 'UTC' };

  it('is the entry that last set the credits when there is no refill', () => {
    expect(creditPeriod(owner({}), setter(now - day, 10), 2, now)).toEqual({
      period: 'set:7',
      total: 10,
      remaining: 2,
    });
    expect(creditPeriod(owner({}), undefined, 2, now)).toBeUndefined();
    expect(creditPeriod(owner({ credits: null }), setter(now, 10), null, now)).toBeUndefined();
  });

  it('is the refill last applied, unless credits were set after it', () => {
    const refilled = owner({ refill, refilledAt: new Date(midnight) });
    const period = `refill:${new Date(midnight).toISOString()}`;
    expect(creditPeriod(refilled, setter(midnight - day, 10), 15, now)).toEqual({
      period,
      total: 100,
      remaining: 15,
    });
    expect(creditPeriod(refilled, undefined, 15, now)).toEqual({ period, total: 100, remaining: 15 });
    expect(creditPeriod(refilled, setter(midnight + 1000, 40), 5, now)).toEqual({
      period: 'set:7',
      total: 40,
      remaining: 5,
    });
  });

  it('is a new refill period as soon as a refill is due, before it is applied', () => {
    const stale = owner({ refill, refilledAt: new Date(midnight - day) });
    expect(creditPeriod(stale, setter(midnight - 1000, 10), 100, now)).toEqual({
      period: `refill:${new Date(midnight).toISOString()}`,
      total: 100,
      remaining: 100,
    });
  });

  it('audits a threshold notice on an owner though it changes nothing, and leaves the owner as it was', () => {
    const before = owner({ updatedAt: new Date(5) });
    expect(ownerUpdateWrites(before, {}, new Date(now))).toBeUndefined();
    expect(ownerUpdateWrites(before, {}, new Date(now), 'threshold')).toEqual({
      record: before,
      changes: { owner: 'acme' },
    });
  });
});
