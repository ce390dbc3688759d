// Usage analytics through a real KeyManager and guard: periods on a driven clock, rollup to
// hours and days, retention, queries and their checks, failed flushes, a flood of made-up
// keys, owners changing, and three managers adding to one PostgreSQL schema.
import {
  KEY_OUTCOMES,
  KeyInputError,
  type KeyManager,
  KeyManager as Manager,
  MemoryKeyStore,
  type UsageReport,
} from '@keyward/keys';
import type { KeyStore } from '@keyward/keys/store';
import { openPostgresStore } from '@keyward/postgres';
import { type AuthResult, apiKeyHeader, createGuard } from 'keyward';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PG_URL, requireService } from '../helpers/services.js';
import { PEPPER } from '../keys/temp.js';

const T0 = Date.UTC(2030, 2, 10, 23, 58);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

let clock = T0;
const open: KeyManager[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close().catch(() => {})));
  clock = T0;
});

async function manager(store: KeyStore = new MemoryKeyStore(), extra: Record<string, unknown> = {}) {
  const m = await Manager.open({
    store,
    pepper: PEPPER,
    now: () => clock,
    pollIntervalMs: 0,
    flushIntervalMs: 0,
    ...extra,
  });
  open.push(m);
  return m;
}

function guardOf(m: KeyManager) {
  return createGuard({
    schemes: apiKeyHeader({ name: 'X-API-Key' }),
    verify: m.verifier(),
    observe: m.analytics.observe,
  });
}

const send = async (g: ReturnType<typeof guardOf>, key: string | undefined, scoped = false) => {
  const source = { header: (n: string) => (n === 'x-api-key' ? key : undefined), query: () => '' };
  return (scoped ? g.require('admin') : g).authenticate(source) as
    | Promise<AuthResult<unknown>>
    | AuthResult<unknown>;
};

const totalOf = (r: UsageReport, outcome: string) => (r.totals as Record<string, number>)[outcome];

describe('usage analytics on a driven clock', () => {
  it('counts per minute, rolls up to hours and days, and answers the documented shape', async () => {
    const m = await manager();
    const g = guardOf(m);
    // Keys name owners that exist (owners18).
    await m.createOwner({ name: 'acme' });
    const { key, record } = await m.create({ name: 'a', owner: 'acme' });
    // 23:58 and 23:59 on day 1, 00:00 and 01:30 on day 2.
    for (const [at, n] of [
      [T0, 3],
      [T0 + MIN, 2],
      [T0 + 2 * MIN, 4],
      [T0 + 92 * MIN, 1],
    ] as const) {
      clock = at;
      for (let i = 0; i < n; i++) await send(g, key);
    }
    await send(g, key, true); // 403 at 01:30
    await send(g, 'kw_made_up'); // 401 invalid, the deployment only
    await m.flush();

    const minutes = await m.usage({ key: record.id, since: T0, until: T0 + 3 * MIN, granularity: 'minute' });
    expect(minutes).toEqual({
      scope: { key: record.id },
      granularity: 'minute',
      since: new Date(T0).toISOString(),
      until: new Date(T0 + 3 * MIN).toISOString(),
      totals: { ...Object.fromEntries(KEY_OUTCOMES.map((o) => [o, 0])), valid: 9 },
      buckets: [
        { start: new Date(T0).toISOString(), valid: 3 },
        { start: new Date(T0 + MIN).toISOString(), valid: 2 },
        { start: new Date(T0 + 2 * MIN).toISOString(), valid: 4 },
      ],
    });
    const hours = await m.usage({ key: record.id, since: T0, until: T0 + 2 * HOUR, granularity: 'hour' });
    expect(hours.since).toBe('2030-03-10T23:00:00.000Z');
    expect(hours.buckets).toEqual([
      { start: '2030-03-10T23:00:00.000Z', valid: 5 },
      { start: '2030-03-11T00:00:00.000Z', valid: 4 },
      { start: '2030-03-11T01:00:00.000Z', valid: 1, insufficient_scope: 1 },
    ]);
    const days = await m.usage({ owner: 'acme', since: T0 - DAY, until: T0 + DAY, granularity: 'day' });
    expect(days.buckets.map((b) => b.valid)).toEqual([undefined, 5, 5]);
    expect(days.scope).toEqual({ owner: 'acme' });
    const deployment = await m.usage({ since: T0, until: T0 + 2 * HOUR, granularity: 'hour' });
    expect(deployment.totals).toMatchObject({ valid: 10, insufficient_scope: 1, invalid: 1, missing: 0 });
    expect(Object.keys(deployment.totals)).toHaveLength(12);
    // Defaults: the last 24 hours up to now, in hours (since rounded down, until up).
    const recent = await m.usage({ key: record.id });
    expect(recent.granularity).toBe('hour');
    expect(recent.buckets).toHaveLength(25);
    expect(recent.until).toBe('2030-03-11T02:00:00.000Z');
    expect(totalOf(recent, 'valid')).toBe(10);
  });

  it('keeps minutes 48 hours, hours 90 days and days 400 days by default, pruned in batches', async () => {
    const store = new MemoryKeyStore();
    const m = await manager(store, { analytics: { pruneBatch: 2 } });
    const g = guardOf(m);
    const { key, record } = await m.create({ name: 'a' });
    for (let i = 0; i < 5; i++) {
      clock = T0 + i * MIN;
      await send(g, key);
    }
    await m.flush();
    const read = (granularity: 'minute' | 'hour' | 'day') =>
      m
        .usage({ key: record.id, since: T0 - DAY, until: T0 + DAY, granularity })
        .then((r) => totalOf(r, 'valid'));
    clock = T0 + 47 * HOUR;
    expect(await m.analytics.prune()).toBe(0);
    expect(await read('minute')).toBe(5);
    clock = T0 + 49 * HOUR;
    // Five minutes of the key and five of the deployment, two rows a statement.
    expect(await m.analytics.prune()).toBe(10);
    expect(await read('minute')).toBe(0);
    expect(await read('hour')).toBe(5);
    expect(await read('day')).toBe(5);
    clock = T0 + 91 * DAY;
    expect(await m.analytics.prune()).toBe(4); // two hours (23:00 and 00:00), key and deployment
    const days = await m.usage({ key: record.id, since: T0 - DAY, until: T0 + DAY, granularity: 'day' });
    expect(totalOf(days, 'valid')).toBe(5);
    clock = T0 + 402 * DAY;
    expect(await m.analytics.prune()).toBe(4);
    expect(await read('day')).toBe(0);
  });

  it('takes other retention, and refuses one under a minute', async () => {
    const m = await manager(new MemoryKeyStore(), {
      analytics: { retention: { minute: '2h', hour: '3d', day: 30 * DAY } },
    });
    expect(m.analytics.retention).toEqual({ minute: 2 * HOUR, hour: 3 * DAY, day: 30 * DAY });
    await expect(
      manager(new MemoryKeyStore(), { analytics: { retention: { minute: 1000 } } }),
    ).rejects.toThrow(/at least 1 minute/);
  });

  it('checks queries: one scope, real key ids, dates, granularity, at most 10,000 periods', async () => {
    const m = await manager();
    const bad = [
      () => m.usage({ key: 'key_1', owner: 'acme' } as never),
      () => m.usage({ key: 'kw_notAnId' }),
      () => m.usage({ since: 'yesterday' }),
      () => m.usage({ since: T0, until: T0 }),
      () => m.usage({ granularity: 'week' as never }),
      () => m.usage({ since: T0 - 30 * DAY, until: T0, granularity: 'minute' }),
      () => m.usage({ owner: '' }),
      () => m.usageTop({ limit: 0 }),
      () => m.usageTop({ by: 'invalid' as never }),
      () => m.usageMany({ keys: [] }),
    ];
    for (const call of bad) await expect(call()).rejects.toBeInstanceOf(KeyInputError);
  });

  it('keeps the counts of a failed flush for the next one, exactly once', async () => {
    const store = new MemoryKeyStore();
    const add = store.addUsageCounts.bind(store);
    let failing = true;
    store.addUsageCounts = (rows) => (failing ? Promise.reject(new Error('down')) : add(rows));
    const m = await manager(store);
    const g = guardOf(m);
    const { key, record } = await m.create({ name: 'a' });
    await send(g, key);
    await expect(m.analytics.flush()).rejects.toThrow('down');
    clock += 5 * MIN; // another minute while the store is down
    await send(g, key);
    await send(g, key);
    await expect(m.analytics.flush()).rejects.toThrow('down');
    failing = false;
    await m.analytics.flush();
    await m.analytics.flush();
    const report = await m.usage({ key: record.id, since: T0, until: T0 + HOUR, granularity: 'minute' });
    expect(report.buckets.filter((b) => b.valid !== undefined).map((b) => [b.start, b.valid])).toEqual([
      [new Date(T0).toISOString(), 1],
      [new Date(T0 + 5 * MIN).toISOString(), 2],
    ]);
    expect(m.analytics.stats().pending).toBe(0);
  });

  it('counts a flood of made-up keys in the deployment only: memory stays one series', async () => {
    const m = await manager();
    const g = guardOf(m);
    const { key } = await m.create({ name: 'a' });
    await send(g, key);
    for (let i = 0; i < 20_000; i++) await send(g, `kw_${String(i).padStart(38, 'x')}`);
    expect(m.analytics.stats()).toMatchObject({ counted: 20_001, pending: 2 });
    await m.flush();
    const d = await m.usage({ since: T0, until: T0 + MIN });
    expect(d.totals).toMatchObject({ valid: 1, invalid: 20_000 });
    const top = await m.usageTop({ since: T0, until: T0 + HOUR });
    expect(top.items).toHaveLength(1);
  });

  it("keeps an owner's history with the owner the key had when used", async () => {
    const m = await manager();
    const g = guardOf(m);
    for (const name of ['acme', 'globex']) await m.createOwner({ name });
    const { key, record } = await m.create({ name: 'a', owner: 'acme' });
    await send(g, key);
    await send(g, key);
    await m.update(record.id, { owner: 'globex' });
    await send(g, key);
    await m.flush();
    const range = { since: T0, until: T0 + MIN };
    expect(totalOf(await m.usage({ owner: 'acme', ...range }), 'valid')).toBe(2);
    expect(totalOf(await m.usage({ owner: 'globex', ...range }), 'valid')).toBe(1);
    expect(totalOf(await m.usage({ key: record.id, ...range }), 'valid')).toBe(3);
    const owners = await m.usageTop({ group: 'owner', ...range });
    expect(owners.items).toEqual([
      { owner: 'acme', valid: 2, refused: 0 },
      { owner: 'globex', valid: 1, refused: 0 },
    ]);
  });

  it("answers many keys' series in columns (usageMany)", async () => {
    const m = await manager();
    const g = guardOf(m);
    const a = await m.create({ name: 'a' });
    const b = await m.create({ name: 'b' });
    await send(g, a.key);
    clock = T0 + DAY;
    await send(g, a.key);
    await send(g, b.key, true);
    await m.flush();
    const set = await m.usageMany({
      keys: [a.record.id, b.record.id],
      since: T0,
      until: T0 + 2 * DAY,
      granularity: 'day',
    });
    expect(set.starts).toEqual([
      '2030-03-10T00:00:00.000Z',
      '2030-03-11T00:00:00.000Z',
      '2030-03-12T00:00:00.000Z',
    ]);
    expect(set.series).toEqual([
      { key: a.record.id, totals: expect.objectContaining({ valid: 2 }), counts: { valid: [1, 1, 0] } },
      {
        key: b.record.id,
        totals: expect.objectContaining({ valid: 0, insufficient_scope: 1 }),
        counts: { insufficient_scope: [0, 1, 0] },
      },
    ]);
  });

  it('counts nothing when off', async () => {
    const m = await manager(new MemoryKeyStore(), { analytics: { enabled: false } });
    const g = guardOf(m);
    const { key } = await m.create({ name: 'a' });
    await send(g, key);
    expect(m.analytics.stats().counted).toBe(0);
  });
});

describe('three managers on one PostgreSQL schema', () => {
  it('add their counts exactly, flushing concurrently while requests arrive', async (t) => {
    if (!(await requireService('PostgreSQL', 5432))) return t.skip();
    const schema = `keyward_usage_three_${process.pid}_${Date.now()}`;
    const url = new URL(PG_URL);
    url.searchParams.set('schema', schema);
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      clock = Date.now();
      const managers = await Promise.all(
        [0, 1, 2].map(async () =>
          manager(await openPostgresStore(url.toString()), { flushIntervalMs: 20, pollIntervalMs: 50 }),
        ),
      );
      for (const name of ['acme', 'beta']) await managers[0]!.createOwner({ name });
      const keys = await Promise.all(
        ['acme', 'acme', 'beta', null].map((owner, i) =>
          managers[0]!.create({ name: `k${i}`, owner, scopes: ['read'] }),
        ),
      );
      await Promise.all(managers.map((m) => m.sync()));
      const guards = managers.map(guardOf);
      const sent = new Map<string, { valid: number; insufficient_scope: number }>(
        keys.map((k) => [k.record.id, { valid: 0, insufficient_scope: 0 }]),
      );
      let invalid = 0;
      let missing = 0;
      // 3 x 400 requests, interleaved, while each manager flushes every 20 ms.
      await Promise.all(
        guards.map(async (g, gi) => {
          for (let i = 0; i < 400; i++) {
            const pick = (i * 7 + gi * 13) % 6;
            if (pick === 4) {
              invalid++;
              await send(g, `kw_${'Z'.repeat(38)}`);
            } else if (pick === 5) {
              missing++;
              await send(g, undefined);
            } else {
              const k = keys[pick]!;
              const scoped = i % 5 === 0;
              sent.get(k.record.id)![scoped ? 'insufficient_scope' : 'valid']++;
              const r = await send(g, k.key, scoped);
              expect(r.ok).toBe(!scoped);
            }
            if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
          }
        }),
      );
      await Promise.all(managers.map((m) => m.close()));
      const reader = await manager(await openPostgresStore(url.toString()));
      const range = { since: clock - HOUR, until: clock + HOUR };
      for (const k of keys) {
        const report = await reader.usage({ key: k.record.id, ...range });
        expect(report.totals).toMatchObject(sent.get(k.record.id)!);
      }
      const acme = await reader.usage({ owner: 'acme', ...range });
      const [k0, k1] = [sent.get(keys[0]!.record.id)!, sent.get(keys[1]!.record.id)!];
      expect(acme.totals).toMatchObject({
        valid: k0.valid + k1.valid,
        insufficient_scope: k0.insufficient_scope + k1.insufficient_scope,
      });
      const all = await reader.usage(range);
      const validSent = [...sent.values()].reduce((a, s) => a + s.valid, 0);
      expect(all.totals).toMatchObject({ valid: validSent, invalid, missing });
      expect(
        validSent + invalid + missing + [...sent.values()].reduce((a, s) => a + s.insufficient_scope, 0),
      ).toBe(1200);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  }, 60_000);
});
