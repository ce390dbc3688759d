// Owners across two `keyward serve` processes on one PostgreSQL (a schema of this run) and
// one Redis (a key prefix of this run): one rate limit and one credit balance per owner,
// refilled once, whichever instance a request reaches.
import { randomBytes } from 'node:crypto';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, REDIS_URL, requireService } from '../helpers/services.js';
import { startServe } from '../helpers/spawn.js';
import { type Instance, isolatedDatabase, PEPPER } from './helpers.js';

const run =
  (await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432))) &&
  (await requireService('Redis', Number(new URL(REDIS_URL).port || 6379)));

describe.skipIf(!run)('owners across two serve instances sharing PostgreSQL and Redis', () => {
  const db = isolatedDatabase(PG_URL, 'owners');
  const prefix = `keyward-test:${randomBytes(4).toString('hex')}`;
  const env = {
    KEYWARD_DATABASE_URL: db.url,
    KEYWARD_PEPPER: PEPPER,
    KEYWARD_REDIS_URL: REDIS_URL,
    KEYWARD_REDIS_PREFIX: prefix,
  };
  let a: Instance;
  let b: Instance;
  let admin: pg.Client;
  let manager: KeyManager;

  const call = (base: string, key: string, path = '/secure-data') =>
    fetch(base + path, { headers: { 'X-API-Key': key } });

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    manager = await openKeyManager({ database: db.url, env, pollIntervalMs: 0 });
    [a, b] = await Promise.all([
      startServe(['--usage-flush', '1s'], env),
      startServe(['--usage-flush', '1s'], env),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await manager?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`);
    await admin?.end();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it("lets exactly N requests through an owner's shared limit, across keys and instances", async () => {
    await manager.createOwner({ name: 'limited', rateLimit: '10/1m' });
    const [k1, k2] = await Promise.all(
      [1, 2].map((i) => manager.create({ name: `r${i}`, owner: 'limited' })),
    );
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call(i % 2 ? a.url : b.url, (i % 4 < 2 ? k1 : k2)!.key)),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(30);
  }, 60_000);

  it('takes 200 concurrent requests of mixed cost from one balance, never below zero', async () => {
    await manager.createOwner({ name: 'acme', credits: 300 });
    const keys = await Promise.all([1, 2, 3].map((i) => manager.create({ name: `k${i}`, owner: 'acme' })));
    const requests = Array.from({ length: 200 }, (_, i) => ({
      base: i % 2 ? a.url : b.url,
      path: i % 3 === 0 ? '/expensive-data' : '/secure-data',
      cost: i % 3 === 0 ? 5 : 1,
      key: keys[i % 3]!.key,
    }));
    const responses = await Promise.all(requests.map((r) => call(r.base, r.key, r.path)));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    const paid = requests.filter((_, i) => responses[i]!.status === 200).reduce((s, r) => s + r.cost, 0);
    const { rows } = await admin.query(
      `SELECT credits FROM "${db.schema}".keyward_owners WHERE name = 'acme'`,
    );
    const left = Number(rows[0].credits);
    expect(left).toBeGreaterThanOrEqual(0);
    expect(paid + left).toBe(300);
    // 200 requests would cost 468: the balance ran out. The balance only goes down, so a
    // request refused could not have been paid even at the end.
    const refused = requests.filter((_, i) => responses[i]!.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.cost).toBeGreaterThan(left);
    for (const [i, res] of responses.entries()) {
      if (res.status !== 200) {
        expect(res.status).toBe(429);
        expect(bodies[i]).toBe('{"detail":"API key usage limit exceeded"}');
      }
    }
  }, 60_000);

  it('refills once after downtime, whichever instances the next requests reach', async () => {
    await manager.createOwner({ name: 'daily', refill: '7/day', timeZone: 'America/New_York' });
    const { key } = await manager.create({ name: 'd', owner: 'daily' });
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => call(i % 2 ? a.url : b.url, key)));
    expect(first.filter((r) => r.status === 200)).toHaveLength(7);
    const empty = first.find((r) => r.status === 429)!;
    expect(Number(empty.headers.get('retry-after'))).toBeGreaterThan(0);
    // Two days down: the marker of the last refill moves back, as time would have moved on.
    await admin.query(
      `UPDATE "${db.schema}".keyward_owners SET refilled_at = refilled_at - interval '2 days' WHERE name = 'daily'`,
    );
    const after = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i % 2 ? a.url : b.url, key)));
    expect(after.filter((r) => r.status === 200)).toHaveLength(7);
    expect((await manager.getOwner('daily')).credits).toBe(0);
  }, 60_000);

  it('applies an owner change on both instances at once (change feed)', async () => {
    await manager.createOwner({ name: 'grows', credits: 0 });
    const { key } = await manager.create({ name: 'g', owner: 'grows' });
    for (const i of [a, b]) expect((await call(i.url, key)).status).toBe(429);
    await manager.updateOwner('grows', { credits: null });
    for (const i of [a, b]) {
      let status = 429;
      for (let n = 0; n < 50 && status !== 200; n++) {
        status = (await call(i.url, key)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(200);
    }
  }, 60_000);
});
