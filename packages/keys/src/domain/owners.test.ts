import { describe, expect, it } from 'vitest';
import type { OwnerRecord, Refill } from '../store/types.js';
import { KeyInputError } from './errors.js';
import {
  checkLifetime,
  checkTimeZone,
  creditsAt,
  newOwner,
  nextRefill,
  ownerPatch,
  ownerUpdateWrites,
  parseRefill,
  periodStart,
} from './owners.js';
import { blankRecord } from './records.js';

const iso = (ms: number) => new Date(ms).toISOString();
const at = (text: string) => Date.parse(text);
const monthly = (day: number, timeZone = 'UTC'): Refill => ({ amount: 10, period: 'month', day, timeZone });
const daily = (timeZone = 'UTC'): Refill => ({ amount: 10, period: 'day', day: null, timeZone });

describe('refill calendar', () => {
  it('starts days at midnight in the zone, also on the days DST starts and ends', () => {
    const berlin = daily('Europe/Berlin');
    expect(iso(periodStart(berlin, at('2030-06-15T12:00:00Z')))).toBe('2030-06-14T22:00:00.000Z');
    expect(iso(periodStart(berlin, at('2030-01-15T12:00:00Z')))).toBe('2030-01-14T23:00:00.000Z');
    // 2030-03-31: clocks go from 02:00 to 03:00; the day is 23 hours long.
    expect(iso(periodStart(berlin, at('2030-03-31T12:00:00Z')))).toBe('2030-03-30T23:00:00.000Z');
    expect(iso(nextRefill(berlin, at('2030-03-31T12:00:00Z')))).toBe('2030-03-31T22:00:00.000Z');
    // 2030-10-27: 03:00 back to 02:00; a 25-hour day.
    expect(iso(periodStart(berlin, at('2030-10-27T12:00:00Z')))).toBe('2030-10-26T22:00:00.000Z');
    expect(iso(nextRefill(berlin, at('2030-10-27T12:00:00Z')))).toBe('2030-10-27T23:00:00.000Z');
    // Just before and at local midnight.
    expect(iso(periodStart(berlin, at('2030-06-14T21:59:59.999Z')))).toBe('2030-06-13T22:00:00.000Z');
    expect(iso(periodStart(berlin, at('2030-06-14T22:00:00Z')))).toBe('2030-06-14T22:00:00.000Z');
  });

  it('starts the day at the first instant that exists where DST skips midnight', () => {
    // America/Havana springs forward at midnight: 2030-03-10 begins at 01:00 local (05:00Z).
    const havana = daily('America/Havana');
    const start = periodStart(havana, at('2030-03-10T12:00:00Z'));
    const local = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'America/Havana',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    expect(local.format(start)).toBe('2030-03-10');
    expect(local.format(start - 1)).toBe('2030-03-09');
  });

  it('refills monthly on the day asked, the 31st meaning the last day of shorter months', () => {
    const last = monthly(31);
    expect(iso(periodStart(last, at('2030-02-28T00:00:00Z')))).toBe('2030-02-28T00:00:00.000Z');
    expect(iso(periodStart(last, at('2030-02-27T23:59:59Z')))).toBe('2030-01-31T00:00:00.000Z');
    expect(iso(nextRefill(last, at('2030-02-28T10:00:00Z')))).toBe('2030-03-31T00:00:00.000Z');
    expect(iso(nextRefill(last, at('2030-03-31T10:00:00Z')))).toBe('2030-04-30T00:00:00.000Z');
    // A leap year.
    expect(iso(periodStart(last, at('2032-02-29T01:00:00Z')))).toBe('2032-02-29T00:00:00.000Z');
    const fifteenth = monthly(15, 'America/New_York');
    expect(iso(periodStart(fifteenth, at('2030-01-10T00:00:00Z')))).toBe('2029-12-15T05:00:00.000Z');
    expect(iso(nextRefill(fifteenth, at('2030-01-10T00:00:00Z')))).toBe('2030-01-15T05:00:00.000Z');
    // Across DST: the period that starts in summer time begins at its midnight.
    expect(iso(nextRefill(fifteenth, at('2030-03-01T00:00:00Z')))).toBe('2030-03-15T04:00:00.000Z');
  });

  it('gives every instant one period, the next beginning where the last ends', () => {
    for (const refill of [
      daily('Europe/Berlin'),
      monthly(31, 'Australia/Lord_Howe'),
      monthly(1, 'Asia/Kolkata'),
    ]) {
      let t = at('2030-01-01T00:00:00Z');
      for (let i = 0; i < 400; i++) {
        const start = periodStart(refill, t);
        const next = nextRefill(refill, t);
        expect(start).toBeLessThanOrEqual(t);
        expect(next).toBeGreaterThan(t);
        expect(periodStart(refill, next)).toBe(next);
        expect(periodStart(refill, next - 1)).toBe(start);
        t = next + 3_600_000 * 7;
      }
    }
  });
});

describe('owner settings', () => {
  it('parses refills and time zones, refusing what they are not', () => {
    expect(parseRefill('1000/day')).toEqual({ amount: 1000, period: 'day' });
    expect(parseRefill(' 5/month ')).toEqual({ amount: 5, period: 'month' });
    for (const bad of ['1000', '1000/week', '-1/day', 'x/month']) {
      expect(() => parseRefill(bad)).toThrow(KeyInputError);
    }
    expect(checkTimeZone('europe/berlin')).toBe('Europe/Berlin');
    for (const bad of ['Mars/Olympus', '', '../etc', 'UTC\n'])
      expect(() => checkTimeZone(bad)).toThrow(KeyInputError);
  });

  it('starts full with a refill and no credits, and marks the current period as refilled', () => {
    const now = at('2030-05-20T10:00:00Z');
    const owner = newOwner({ name: 'acme', refill: '100/month', refillDay: 31, timeZone: 'UTC' }, now);
    expect(owner).toMatchObject({
      credits: 100,
      refill: { amount: 100, period: 'month', day: 31, timeZone: 'UTC' },
    });
    expect(owner.refilledAt?.toISOString()).toBe('2030-04-30T00:00:00.000Z');
    expect(creditsAt({ ...owner, credits: 3 }, now)).toBe(3);
    expect(creditsAt({ ...owner, credits: 3 }, at('2030-05-31T00:00:00Z'))).toBe(100);
    expect(newOwner({ name: 'b', credits: 5, refill: '100/day' }, now).credits).toBe(5);
  });

  it('refuses a refill day on daily refills, days out of range, and zones without a refill', () => {
    const now = Date.UTC(2030, 0, 1);
    expect(() => newOwner({ name: 'a', refill: '1/day', refillDay: 3 }, now)).toThrow(/monthly/);
    expect(() => newOwner({ name: 'a', refill: '1/month', refillDay: 32 }, now)).toThrow(/1 to 31/);
    expect(() => newOwner({ name: 'a', timeZone: 'UTC' }, now)).toThrow(/need a refill/);
    expect(() => newOwner({ name: 'a', credits: -1 }, now)).toThrow(KeyInputError);
    expect(() => newOwner({ name: '' }, now)).toThrow(KeyInputError);
  });

  it('keeps the refill when only its day or zone changes, and audits what changed', () => {
    const now = Date.UTC(2030, 0, 1);
    const owner: OwnerRecord = newOwner({ name: 'a', refill: '10/month' }, now);
    const patch = ownerPatch({ refillDay: 15, timeZone: 'Europe/Berlin' }, owner.refill, now);
    expect(patch.refill).toEqual({ amount: 10, period: 'month', day: 15, timeZone: 'Europe/Berlin' });
    const writes = ownerUpdateWrites(owner, patch, new Date(now + 1))!;
    expect(writes.changes).toMatchObject({ owner: 'a', refill: { from: owner.refill, to: patch.refill } });
    expect(ownerUpdateWrites(owner, { credits: owner.credits }, new Date(now))).toBeUndefined();
  });

  it('takes restrictions as keys do: canonical, merged kind by kind, audited, lifted with null', () => {
    const now = at('2026-03-01T00:00:00Z');
    const owner = newOwner({ name: 'acme', ipAllow: '10.0.0.0/8, 10.0.0.0/8', routes: ['get /a/*'] }, now);
    expect(owner.restrictions).toEqual({ ipAllow: ['10.0.0.0/8'], routes: ['GET /a/*'] });
    expect(newOwner({ name: 'open' }, now).restrictions).toBeNull();
    expect(newOwner({ name: 'open', ipAllow: [] }, now).restrictions).toBeNull();
    expect(() => newOwner({ name: 'x', ipAllow: '10.0.0.1/8' }, now)).toThrow(/did you mean 10.0.0.0\/8/);
    expect(() => newOwner({ name: 'x', originAllow: 42 as never }, now)).toThrow(KeyInputError);
    // Only the kinds given are in the patch; null lifts one.
    expect(ownerPatch({ credits: 1 }, null, now).restrictions).toBeUndefined();
    const patch = ownerPatch({ ipAllow: null, originAllow: 'https://App.example' }, null, now);
    expect(patch.restrictions).toEqual({ ipAllow: [], originAllow: ['https://app.example'] });
    const writes = ownerUpdateWrites(owner, patch, new Date(now))!;
    expect(writes.record.restrictions).toEqual({
      originAllow: ['https://app.example'],
      routes: ['GET /a/*'],
    });
    expect(writes.changes).toEqual({
      owner: 'acme',
      restrictions: { from: owner.restrictions, to: writes.record.restrictions },
    });
    // The same restrictions again change nothing; null lifts all.
    expect(
      ownerUpdateWrites(owner, { restrictions: { ipAllow: ['10.0.0.0/8'] } }, new Date(now)),
    ).toBeUndefined();
    expect(ownerUpdateWrites(owner, { restrictions: null }, new Date(now))!.record.restrictions).toBeNull();
    // Kinds read back in another order (PostgreSQL's jsonb) are the same restrictions.
    const reordered = { ...owner, restrictions: { routes: ['GET /a/*'], ipAllow: ['10.0.0.0/8'] } };
    expect(
      ownerUpdateWrites(reordered, { restrictions: { routes: ['GET /a/*'] } }, new Date(now)),
    ).toBeUndefined();
  });

  it('refuses keys that would outlive the maximum lifetime, or never expire under one', () => {
    const record = { ...blankRecord(0), expiresAt: new Date(90 * 86_400_000) };
    expect(() => checkLifetime(record, 90 * 86_400_000)).not.toThrow();
    expect(() => checkLifetime(record, null)).not.toThrow();
    expect(() =>
      checkLifetime({ ...record, expiresAt: new Date(90 * 86_400_000 + 1) }, 90 * 86_400_000),
    ).toThrow(/at most 90d/);
    expect(() => checkLifetime({ ...record, expiresAt: null }, 86_400_000)).toThrow(/at most 1d/);
  });
});
