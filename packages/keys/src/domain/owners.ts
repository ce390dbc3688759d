// Owners: the clients keys belong to. An owner's rate limit and credits are shared by all
// its keys; its credits may refill once per calendar day or month in its time zone. The
// rules live here, once; stores only read, lock and write what these functions decide.
import type { AuditAction, KeyRecord, OwnerPatch, OwnerRecord, RateLimit, Refill } from '../store/types.js';
import { KeyInputError, KeyStateError, KeyStoreError } from './errors.js';
import { checkLabel, checkMetadata, checkRateLimit, durationMs } from './input.js';
import {
  canonicalRestrictions,
  checkRestrictions,
  mergeRestrictions,
  RESTRICTION_KINDS,
  type RestrictionInput,
} from './restrictions.js';

/** An owner's settings, as given to `createOwner` (and, all optional but the name, to `updateOwner`). */
export interface OwnerSettings {
  name: string;
  /** `{limit, windowSeconds}` or text like `100/1m`; `null` for none. */
  rateLimit?: RateLimit | string | null;
  /** The credit balance; `null` for unlimited. With a refill and no credits, it starts full. */
  credits?: number | null;
  /** `1000/day`, `1000/month` or `{amount, period}`; `null` for none. */
  refill?: string | { amount: number; period: 'day' | 'month' } | null;
  /** For monthly refills: the day of the month (1-31, default 1; 31 is the last day of shorter months). */
  refillDay?: number | null;
  /** IANA time zone of the refill calendar (default `UTC`). */
  timeZone?: string;
  metadata?: Record<string, unknown>;
  /** Longest lifetime of this owner's keys: ms or text like `90d`; `null` for none. */
  maxLifetime?: number | string | null;
  /**
   * Client addresses (CIDR ranges or addresses) every key of this owner may be used from,
   * a list or comma-separated; `null` or `[]` for any (on update: lifts the restriction).
   * A key of the owner must pass these and its own restrictions.
   */
  ipAllow?: RestrictionInput;
  /** Browser origins (`Origin`, else `Referer`) the owner's keys may be used from, as for keys. */
  originAllow?: RestrictionInput;
  /** Routes (`METHOD /path`, or operation ids) the owner's keys may call, as for keys. */
  routes?: RestrictionInput;
}

/** No owner has this name. */
export class OwnerNotFoundError extends KeyStoreError {
  override readonly name = 'OwnerNotFoundError';
  constructor(readonly owner: string) {
    super(
      'owner_not_found',
      `no owner named ${JSON.stringify(owner)} (create it with: keyward owners create)`,
    );
  }
}

/** Audit actions of owner changes (their entries have `keyId: null` and `changes.owner`). */
export const OWNER_ACTIONS = ['owner_create', 'owner_update', 'owner_delete'] as const;

export function isOwnerAction(action: AuditAction): boolean {
  return (OWNER_ACTIONS as readonly string[]).includes(action);
}

const MAX_CREDITS = Number.MAX_SAFE_INTEGER;

export function checkCredits(value: unknown, what = 'credits'): number | null {
  if (value === null) return null;
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > MAX_CREDITS) {
    throw new KeyInputError(`${what} must be a whole number from 0`);
  }
  return value as number;
}

/** Whether Intl knows the zone; it is then used under its canonical spelling. */
export function checkTimeZone(value: unknown): string {
  if (typeof value !== 'string' || value.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(value)) {
    throw new KeyInputError('timezone must be an IANA time zone such as Europe/Berlin or UTC');
  }
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    throw new KeyInputError(
      `unknown time zone ${JSON.stringify(value)}: use an IANA name such as Europe/Berlin`,
    );
  }
}

/** Parses `1000/day` or `1000/month`. */
export function parseRefill(text: string): { amount: number; period: 'day' | 'month' } {
  const m = /^(\d{1,15})\/(day|month)$/.exec(String(text).trim());
  if (!m) throw new KeyInputError('invalid refill: use credits/period, e.g. 1000/day or 1000/month');
  return { amount: checkCredits(Number(m[1]), 'refill amount')!, period: m[2] as 'day' | 'month' };
}

function refillOf(input: Partial<OwnerSettings>, current: Refill | null): Refill | null | undefined {
  const touched = input.refill !== undefined || input.refillDay !== undefined || input.timeZone !== undefined;
  if (!touched) return undefined;
  if (input.refill === null) return null;
  const base =
    input.refill === undefined
      ? current
      : typeof input.refill === 'string'
        ? parseRefill(input.refill)
        : { amount: checkCredits(input.refill?.amount, 'refill amount')!, period: input.refill?.period };
  if (base === null) throw new KeyInputError('--refill-day and --timezone need a refill (e.g. 1000/month)');
  if (base.period !== 'day' && base.period !== 'month')
    throw new KeyInputError('refill period must be day or month');
  let day =
    input.refillDay !== undefined ? input.refillDay : base.period === 'month' ? (current?.day ?? 1) : null;
  if (base.period === 'day') {
    if (input.refillDay !== undefined && input.refillDay !== null) {
      throw new KeyInputError('a refill day applies to monthly refills only');
    }
    day = null;
  } else if (day === null || !Number.isInteger(day) || day < 1 || day > 31) {
    throw new KeyInputError('refill day must be a day of the month from 1 to 31');
  }
  const timeZone = checkTimeZone(input.timeZone ?? current?.timeZone ?? 'UTC');
  return Object.freeze({ amount: base.amount, period: base.period, day, timeZone });
}

/** A new owner's record at `now`, validated. */
export function newOwner(input: OwnerSettings, now: number): OwnerRecord {
  if (typeof input !== 'object' || input === null)
    throw new KeyInputError('owner settings must be an object');
  const patch = ownerPatch(input, null, now);
  let credits = patch.credits ?? null;
  const refill = patch.refill ?? null;
  if (refill !== null && input.credits === undefined) credits = refill.amount;
  return {
    name: checkOwnerName(input.name),
    rateLimit: patch.rateLimit ?? null,
    credits,
    refill,
    refilledAt: refill === null ? null : new Date(periodStart(refill, now)),
    metadata: patch.metadata ?? {},
    maxLifetimeMs: patch.maxLifetimeMs ?? null,
    restrictions: mergeRestrictions(null, patch.restrictions ?? null),
    createdAt: new Date(now),
    updatedAt: new Date(now),
  };
}

export function checkOwnerName(name: unknown): string {
  return checkLabel(name, 'owner name');
}

/**
 * Validates settings into a patch for an owner whose refill is `current` (null for none):
 * fields not given stay out. A new or changed refill restarts its period marker at `now`,
 * so the change does not itself count as a missed refill.
 */
export function ownerPatch(input: Partial<OwnerSettings>, current: Refill | null, now: number): OwnerPatch {
  if (typeof input !== 'object' || input === null)
    throw new KeyInputError('owner settings must be an object');
  const patch: OwnerPatch = {};
  if (input.rateLimit !== undefined) {
    patch.rateLimit = input.rateLimit === null ? null : checkRateLimit(input.rateLimit);
  }
  if (input.credits !== undefined) patch.credits = checkCredits(input.credits);
  if (input.metadata !== undefined) patch.metadata = checkMetadata(input.metadata);
  if (input.maxLifetime !== undefined) {
    const ms = input.maxLifetime === null ? null : durationMs(input.maxLifetime, 'maxLifetime');
    if (ms === 0) throw new KeyInputError('a maximum lifetime must be longer than 0');
    patch.maxLifetimeMs = ms;
  }
  if (RESTRICTION_KINDS.some((kind) => input[kind] !== undefined)) {
    patch.restrictions = checkRestrictions(input);
  }
  const refill = refillOf(input, current);
  if (refill !== undefined) {
    patch.refill = refill;
    patch.refilledAt = refill === null ? null : new Date(periodStart(refill, now));
  }
  return patch;
}

const PATCH_FIELDS = [
  'rateLimit',
  'credits',
  'refill',
  'refilledAt',
  'metadata',
  'maxLifetimeMs',
  'restrictions',
] as const;

function plain(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

/**
 * A field's value to compare and audit: dates as ISO text, restrictions with their kinds
 * in one order (PostgreSQL's jsonb hands object keys back in its own order).
 */
function comparable(field: (typeof PATCH_FIELDS)[number], value: unknown): unknown {
  if (field !== 'restrictions') return plain(value);
  return canonicalRestrictions(value as OwnerRecord['restrictions']);
}

/**
 * What an owner update writes: the owner after the patch and the fields that changed
 * (from, to); `undefined` when none did, but for a `threshold` notice, which is audited.
 */
export function ownerUpdateWrites(
  before: OwnerRecord,
  patch: OwnerPatch,
  at: Date,
  action?: AuditAction,
): { record: OwnerRecord; changes: Record<string, unknown> } | undefined {
  const next = { ...before } as Record<string, unknown>;
  for (const field of PATCH_FIELDS) if (patch[field] !== undefined) next[field] = patch[field];
  // A patch names the restriction kinds it changes; the others stay.
  if (patch.restrictions !== undefined) {
    next['restrictions'] = mergeRestrictions(before.restrictions ?? null, patch.restrictions);
  }
  const changes: Record<string, unknown> = { owner: before.name };
  let changed = false;
  for (const field of PATCH_FIELDS) {
    if (field === 'refilledAt') continue;
    const from = comparable(field, before[field]);
    const to = comparable(field, next[field]);
    if (JSON.stringify(from) !== JSON.stringify(to)) {
      changes[field] = { from, to };
      changed = true;
    }
  }
  // A `threshold` notice changes nothing, but is audited all the same.
  if (!changed) return action === 'threshold' ? { record: before, changes } : undefined;
  return { record: { ...(next as unknown as OwnerRecord), updatedAt: new Date(at) }, changes };
}

/** The audit `changes` of a new owner: its settings. */
export function ownerCreationChanges(owner: OwnerRecord): Record<string, unknown> {
  return {
    owner: owner.name,
    rateLimit: owner.rateLimit,
    credits: owner.credits,
    refill: owner.refill,
    maxLifetimeMs: owner.maxLifetimeMs,
    ...(owner.restrictions !== null ? { restrictions: owner.restrictions } : {}),
    ...(Object.keys(owner.metadata).length > 0 ? { metadata: owner.metadata } : {}),
  };
}

/** Refuses to delete an owner that still has keys that are not revoked, unless forced. */
export function checkOwnerDeletion(name: string, liveKeys: number, force: boolean): void {
  if (liveKeys > 0 && !force) {
    throw new KeyStateError(
      `owner ${JSON.stringify(name)} has ${liveKeys} key(s) that are not revoked; revoke them first, or delete with force (which revokes them)`,
    );
  }
}

/**
 * Whether `keys disable --stale` takes this key: enabled, not revoked, and last used (or,
 * never used, created) before `cutoff`. The SQL stores select the same keys in SQL.
 */
export function isStale(record: KeyRecord, cutoff: Date): boolean {
  return record.enabled && record.revokedAt === null && (record.lastUsedAt ?? record.createdAt) < cutoff;
}

/** The stricter of two maximum lifetimes (`null`: none). */
export function strictestLifetime(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** Refuses a key that would live longer than `maxMs` from its creation (or forever). */
export function checkLifetime(record: KeyRecord, maxMs: number | null): void {
  if (maxMs === null) return;
  const limit = record.createdAt.getTime() + maxMs;
  if (record.expiresAt === null || record.expiresAt.getTime() > limit) {
    throw new KeyInputError(
      `keys may live at most ${formatDuration(maxMs)} (the maximum lifetime): choose an expiry up to ${new Date(limit).toISOString()}`,
    );
  }
}

function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms} ms`;
}

// ---- The refill calendar -------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    // Zones are few (Intl knows a fixed set); bounded anyway.
    if (formatters.size > 1000) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

interface Wall {
  year: number;
  month: number;
  day: number;
}

/** The wall-clock fields of an instant in a zone, and the zone's offset then (ms). */
function wallOf(ms: number, timeZone: string): Wall & { offset: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(
    parts['year']!,
    parts['month']! - 1,
    parts['day']!,
    parts['hour']!,
    parts['minute']!,
    parts['second']!,
  );
  return {
    year: parts['year']!,
    month: parts['month']!,
    day: parts['day']!,
    offset: asUtc - (ms - (((ms % 1000) + 1000) % 1000)),
  };
}

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * The first instant of a calendar day in a zone: its midnight, or, where a DST change
 * skips midnight, the first wall time that exists that day.
 */
function startOfDay(year: number, month: number, day: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day);
  let t = guess - wallOf(guess, timeZone).offset;
  t = guess - wallOf(t, timeZone).offset;
  // Midnight skipped by a DST gap: step forward to the first instant of that date.
  const dateOf = (ms: number) => {
    const w = wallOf(ms, timeZone);
    return Date.UTC(w.year, w.month - 1, w.day);
  };
  for (let step = 0; step < 96 && dateOf(t) < guess; step++) t += 15 * 60_000;
  return t;
}

/** The refill day in a month: `day`, or the month's last day when it is shorter. */
function refillDate(year: number, month: number, day: number): Wall {
  // Months wrap: month 0 is December of the year before, 13 January of the next.
  const y = year + Math.floor((month - 1) / 12);
  const m = ((((month - 1) % 12) + 12) % 12) + 1;
  return { year: y, month: m, day: Math.min(day, daysIn(y, m)) };
}

/** The start (ms) of the refill period that holds `now`. */
export function periodStart(refill: Refill, now: number): number {
  const w = wallOf(now, refill.timeZone);
  if (refill.period === 'day') return startOfDay(w.year, w.month, w.day, refill.timeZone);
  let d = refillDate(w.year, w.month, refill.day ?? 1);
  let start = startOfDay(d.year, d.month, d.day, refill.timeZone);
  if (start > now) {
    d = refillDate(w.year, w.month - 1, refill.day ?? 1);
    start = startOfDay(d.year, d.month, d.day, refill.timeZone);
  }
  return start;
}

/** The start (ms) of the refill period after the one that holds `now`. */
export function nextRefill(refill: Refill, now: number): number {
  const start = periodStart(refill, now);
  const w = wallOf(start, refill.timeZone);
  if (refill.period === 'day') {
    const next = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
    return startOfDay(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), refill.timeZone);
  }
  // The period started in the month of `w` (its refill day, or that month's last day).
  const d = refillDate(w.year, w.month + 1, refill.day ?? 1);
  return startOfDay(d.year, d.month, d.day, refill.timeZone);
}

/** Whether a spend in the period starting at `period` first applies the owner's refill. */
export function refillDue(owner: OwnerRecord, period: Date | null): period is Date {
  if (owner.refill === null || period === null) return false;
  return owner.refilledAt === null || owner.refilledAt.getTime() < period.getTime();
}

/** The owner's credits as of `now`: the refill amount when a refill is due, else the stored balance. */
export function creditsAt(owner: OwnerRecord, now: number): number | null {
  if (owner.refill === null || owner.credits === null) return owner.credits;
  const start = periodStart(owner.refill, now);
  return owner.refilledAt === null || owner.refilledAt.getTime() < start
    ? owner.refill.amount
    : owner.credits;
}

/** Validates a page size and a cursor for owner listings (cursor: base64url of the last name). */
export function decodeOwnerCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (name === '' || name.length > 200) throw new KeyInputError('invalid cursor');
  return name;
}

export function encodeOwnerCursor(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}
