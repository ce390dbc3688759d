// The usage-analytics part of the store contract (`addUsageCounts`, `readUsageCounts`,
// `rankUsageCounts`, `pruneUsageCounts`): run by `describeStoreContract` for every store.
import { expect, it, type TestContext } from 'vitest';
import type { KeyStore } from '../store/types.js';
import {
  DEPLOYMENT_SCOPE,
  keyScope,
  OUTCOME_COUNT,
  ownerScope,
  type UsageCounts,
  type UsageGranularity,
} from '../usage/model.js';

const T0 = Date.UTC(2030, 5, 1);
const MIN = 60_000;
const HOUR = 3_600_000;

function counts(values: Record<number, number>): number[] {
  const out = new Array<number>(OUTCOME_COUNT).fill(0);
  for (const [i, n] of Object.entries(values)) out[Number(i)] = n;
  return out;
}

const row = (
  granularity: UsageGranularity,
  start: number,
  scope: string,
  values: Record<number, number>,
): UsageCounts => ({ granularity, start: new Date(start), scope, counts: counts(values) });

type Analytics = Required<
  Pick<KeyStore, 'addUsageCounts' | 'readUsageCounts' | 'rankUsageCounts' | 'pruneUsageCounts'>
>;

/** The store's analytics methods, or a skip when it keeps none (all four are optional together). */
function analyticsOf(store: KeyStore, t: TestContext): Analytics | undefined {
  const names = ['addUsageCounts', 'readUsageCounts', 'rankUsageCounts', 'pruneUsageCounts'] as const;
  const present = names.filter((n) => typeof store[n] === 'function');
  if (present.length === 0) {
    t.skip();
    return undefined;
  }
  expect(present, 'a store keeping usage analytics implements all four methods').toEqual([...names]);
  return {
    addUsageCounts: store.addUsageCounts!.bind(store),
    readUsageCounts: store.readUsageCounts!.bind(store),
    rankUsageCounts: store.rankUsageCounts!.bind(store),
    pruneUsageCounts: store.pruneUsageCounts!.bind(store),
  };
}

const sorted = (rows: readonly UsageCounts[]) =>
  rows
    .map((r) => ({ start: r.start.getTime(), scope: r.scope, counts: Array.from(r.counts) }))
    .sort((a, b) => a.start - b.start || a.scope.localeCompare(b.scope));

/** Registers the analytics tests; `store` reads the store of the running test. */
export function describeUsageContract(store: () => KeyStore): void {
  it('adds usage counts to rows, exactly, under concurrent writers (addUsageCounts, readUsageCounts)', async (t) => {
    const a = analyticsOf(store(), t);
    if (!a) return;
    const k1 = keyScope('key_01J0000000000000000000000A');
    const batch = [
      row('minute', T0, DEPLOYMENT_SCOPE, { 0: 2, 10: 1, 11: 3 }),
      row('minute', T0, k1, { 0: 2, 5: 1 }),
      row('hour', T0, k1, { 0: 2, 5: 1 }),
    ];
    // Eight writers adding the same rows at once: every delta counts.
    await Promise.all(Array.from({ length: 8 }, () => a.addUsageCounts(batch)));
    // Counts beyond 32 bits stay exact.
    await a.addUsageCounts([row('day', T0, k1, { 0: 3_000_000_000, 7: 1 })]);
    const minutes = await a.readUsageCounts({
      granularity: 'minute',
      scopes: [k1, DEPLOYMENT_SCOPE],
      since: new Date(T0),
      until: new Date(T0 + MIN),
    });
    expect(sorted(minutes)).toEqual([
      { start: T0, scope: DEPLOYMENT_SCOPE, counts: counts({ 0: 16, 10: 8, 11: 24 }) },
      { start: T0, scope: k1, counts: counts({ 0: 16, 5: 8 }) },
    ]);
    expect(minutes.every((r) => r.granularity === 'minute' && r.start instanceof Date)).toBe(true);
    const hours = await a.readUsageCounts({
      granularity: 'hour',
      scopes: [k1],
      since: new Date(T0),
      until: new Date(T0 + HOUR),
    });
    expect(sorted(hours)).toEqual([{ start: T0, scope: k1, counts: counts({ 0: 16, 5: 8 }) }]);
    const days = await a.readUsageCounts({
      granularity: 'day',
      scopes: [k1],
      since: new Date(T0),
      until: new Date(T0 + 1),
    });
    expect(sorted(days)).toEqual([{ start: T0, scope: k1, counts: counts({ 0: 3_000_000_000, 7: 1 }) }]);
  });

  it('reads only the scopes, granularity and range asked for (readUsageCounts)', async (t) => {
    const a = analyticsOf(store(), t);
    if (!a) return;
    const k1 = keyScope('key_01J0000000000000000000000A');
    const k2 = keyScope('key_01J0000000000000000000000B');
    await a.addUsageCounts([
      row('minute', T0 - MIN, k1, { 0: 1 }),
      row('minute', T0, k1, { 0: 2 }),
      row('minute', T0 + MIN, k1, { 0: 3 }),
      row('minute', T0 + 2 * MIN, k1, { 0: 4 }),
      row('minute', T0, k2, { 0: 5 }),
      row('hour', T0, k1, { 0: 6 }),
      row('minute', T0, ownerScope('acme'), { 1: 7 }),
    ]);
    const read = await a.readUsageCounts({
      granularity: 'minute',
      scopes: [k1, ownerScope('acme')],
      since: new Date(T0),
      until: new Date(T0 + 2 * MIN),
    });
    expect(sorted(read).map((r) => [r.start - T0, r.scope, r.counts[0]! + r.counts[1]!])).toEqual([
      [0, k1, 2],
      [0, ownerScope('acme'), 7],
      [MIN, k1, 3],
    ]);
    const many = await a.readUsageCounts({
      granularity: 'minute',
      scopes: Array.from({ length: 1000 }, (_, i) => keyScope(`key_${String(i).padStart(26, '0')}`)).concat(
        k2,
      ),
      since: new Date(T0),
      until: new Date(T0 + MIN),
    });
    expect(sorted(many).map((r) => r.scope)).toEqual([k2]);
  });

  it('ranks keys or owners by valid requests or refusals over a range (rankUsageCounts)', async (t) => {
    const a = analyticsOf(store(), t);
    if (!a) return;
    const [k1, k2, k3] = ['A', 'B', 'C'].map((c) => keyScope(`key_01J000000000000000000000${c}`));
    await a.addUsageCounts([
      row('day', T0, k1!, { 0: 10, 1: 1 }),
      row('day', T0 + 86_400_000, k1!, { 0: 5 }),
      row('day', T0, k2!, { 0: 12, 4: 2, 5: 3, 7: 1 }),
      row('day', T0, k3!, { 0: 0, 6: 1 }),
      // Outside the range, another granularity, an owner, the deployment: not ranked as keys.
      row('day', T0 + 5 * 86_400_000, k3!, { 0: 100 }),
      row('hour', T0, k3!, { 0: 100 }),
      row('day', T0, ownerScope('acme'), { 0: 50, 2: 4 }),
      row('day', T0, ownerScope('zeta'), { 0: 50 }),
      row('day', T0, DEPLOYMENT_SCOPE, { 0: 1000, 10: 9 }),
    ]);
    const range = { granularity: 'day' as const, since: new Date(T0), until: new Date(T0 + 2 * 86_400_000) };
    expect(await a.rankUsageCounts({ ...range, group: 'key', by: 'valid', limit: 10 })).toEqual([
      { scope: k1, valid: 15, refused: 1 },
      { scope: k2, valid: 12, refused: 6 },
    ]);
    expect(await a.rankUsageCounts({ ...range, group: 'key', by: 'refused', limit: 2 })).toEqual([
      { scope: k2, valid: 12, refused: 6 },
      { scope: k1, valid: 15, refused: 1 },
    ]);
    expect(await a.rankUsageCounts({ ...range, group: 'owner', by: 'valid', limit: 10 })).toEqual([
      { scope: ownerScope('acme'), valid: 50, refused: 4 },
      { scope: ownerScope('zeta'), valid: 50, refused: 0 },
    ]);
  });

  it('deletes rows of a granularity before a time, at most a batch at a time (pruneUsageCounts)', async (t) => {
    const a = analyticsOf(store(), t);
    if (!a) return;
    const k1 = keyScope('key_01J0000000000000000000000A');
    await a.addUsageCounts(
      Array.from({ length: 7 }, (_, i) => row('minute', T0 + i * MIN, k1, { 0: 1 })).concat(
        row('hour', T0, k1, { 0: 7 }),
      ),
    );
    const cut = new Date(T0 + 5 * MIN);
    expect(await a.pruneUsageCounts('minute', cut, 3)).toBe(3);
    expect(await a.pruneUsageCounts('minute', cut, 3)).toBe(2);
    expect(await a.pruneUsageCounts('minute', cut, 3)).toBe(0);
    const left = await a.readUsageCounts({
      granularity: 'minute',
      scopes: [k1],
      since: new Date(0),
      until: new Date(T0 + HOUR),
    });
    expect(sorted(left).map((r) => r.start - T0)).toEqual([5 * MIN, 6 * MIN]);
    const hours = await a.readUsageCounts({
      granularity: 'hour',
      scopes: [k1],
      since: new Date(0),
      until: new Date(T0 + HOUR),
    });
    expect(hours).toHaveLength(1);
  });
}
