// Two `keyward serve` processes on one PostgreSQL (a schema of this run) and one Redis (a
// key prefix of this run): keys, revocations, rate limits and remaining uses are shared.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, REDIS_URL, requireService } from '../helpers/services.js';
import { startServe } from '../helpers/spawn.js';
import { cli, createKey, get, type Instance, isolatedDatabase, PEPPER, sleep } from './helpers.js';

const run =
  (await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432))) &&
  (await requireService('Redis', Number(new URL(REDIS_URL).port || 6379)));

describe.skipIf(!run)('two keyward serve instances sharing PostgreSQL and Redis', () => {
  const db = isolatedDatabase(PG_URL, 'scale');
  const prefix = `keyward-test:${randomBytes(4).toString('hex')}`;
  const env = {
    KEYWARD_DATABASE_URL: db.url,
    KEYWARD_PEPPER: PEPPER,
    KEYWARD_REDIS_URL: REDIS_URL,
    KEYWARD_REDIS_PREFIX: prefix,
  };
  // Requests say which client they are for through a trusted proxy (127.0.0.1): each test
  // its own client address, so failed attempts in one never block another.
  const serveArgs = ['--auth-failure-limit', '6/1m', '--trust-proxy', '127.0.0.1', '--usage-flush', '1s'];
  let a: Instance;
  let b: Instance;
  let admin: pg.Client;

  const from = (base: string, key: string, client: string) =>
    fetch(`${base}/secure-data`, { headers: { 'X-API-Key': key, 'X-Forwarded-For': client } });

  beforeAll(async () => {
    // Connected first, so the schema is dropped even if an instance fails to start.
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    // The first CLI call creates the schema; serve then finds a store with a key in it.
    await createKey(env);
    [a, b] = await Promise.all([startServe(serveArgs, env), startServe(serveArgs, env)]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await admin?.query(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`);
    await admin?.end();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('logs how rate limits are shared and what happens while Redis is down', async () => {
    for (const i of [a, b]) {
      await i.cli.waitFor(/key store postgres:\/\/127\.0\.0\.1:\d+\/test \(schema keyward_scale_/);
      expect(i.cli.stderr()).toMatch(/Rate limits shared through Redis redis:\/\/127\.0\.0\.1:\d+/);
      expect(i.cli.stderr()).toMatch(/fail mode local/);
      // The URL's user never appears: only host, port, database and schema.
      expect(i.cli.stdout() + i.cli.stderr()).not.toContain('postgres@');
    }
  });

  it('serves a key issued through the CLI on both instances', async () => {
    const { key } = await createKey(env, '--scopes', 'admin');
    expect((await get(a.url, key)).status).toBe(200);
    expect((await get(b.url, key)).status).toBe(200);
    expect((await get(b.url, key, '/admin-data')).status).toBe(200);
  });

  it('enforces a CLI revoke on both instances within 1 second', async () => {
    const { key, id } = await createKey(env);
    const client = '203.0.113.10';
    for (const i of [a, b])
      for (let n = 0; n < 3; n++) expect((await from(i.url, key, client)).status).toBe(200);
    // Both have the key cached as valid now; only the change notification can turn it away.
    let revoked = false;
    const refusedAt = [a, b].map(async (i) => {
      for (;;) {
        const status = (await from(i.url, key, client)).status;
        if (status === 401) return Date.now();
        expect(status).toBe(200);
        if (revoked) await sleep(2);
      }
    });
    const result = await cli(['keys', 'revoke', id], env);
    expect(result.code).toBe(0);
    revoked = true;
    const times = await Promise.all(refusedAt);
    // The audit entry's time is taken before the change commits: the delay is an upper bound.
    const { rows } = await admin.query(
      `SELECT at FROM "${db.schema}".keyward_audit WHERE key_id = $1 AND action = 'revoke'`,
      [id],
    );
    const committed = (rows[0].at as Date).getTime();
    const delays = times.map((t) => t - committed);
    console.log(`revoke enforced after ${delays[0]} ms on instance A, ${delays[1]} ms on instance B`);
    for (const d of delays) expect(d).toBeLessThan(1000);
    for (const i of [a, b]) expect((await from(i.url, key, client)).status).toBe(401);
  });

  it('shares a per-key rate limit: the sum over both instances respects it', async () => {
    const { key } = await createKey(env, '--rate-limit', '10/1m');
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, n) => get(n % 2 ? a.url : b.url, key).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    const refused = await get(a.url, key);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-policy')).toBe('"key";q=10;w=60');
    expect(JSON.parse(refused.body)).toEqual({ detail: 'Too many requests' });
  });

  it('counts failed attempts per address across instances; known keys still pass', async () => {
    const client = '203.0.113.20';
    const good = await createKey(env);
    const unseen = await createKey(env);
    for (const i of [a, b]) expect((await from(i.url, good.key, client)).status).toBe(200);
    const statuses = [];
    for (let n = 0; n < 10; n++) {
      const wrong = `kw_${randomBytes(28).toString('base64url').replace(/[-_]/g, 'x').slice(0, 38)}`;
      statuses.push((await from(n % 2 ? a.url : b.url, wrong, client)).status);
    }
    // Six failures in all, not six per instance.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429, 429, 429, 429]);
    for (const i of [a, b]) {
      expect((await from(i.url, good.key, client)).status).toBe(200);
      expect((await from(i.url, unseen.key, client)).status).toBe(429);
    }
    // Another client address is not affected.
    expect((await from(a.url, unseen.key, '203.0.113.21')).status).toBe(200);
  });

  it('gives exactly N successes for a key with N uses under 100 concurrent requests on both', async () => {
    const { key, id } = await createKey(env, '--uses', '10');
    const statuses = await Promise.all(
      Array.from({ length: 100 }, (_, n) => get(n % 2 ? a.url : b.url, key).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(90);
    const shown = await cli(['keys', 'show', id, '--json'], env);
    expect(JSON.parse(shown.stdout)).toMatchObject({ remainingUses: 0, useCount: 10 });
  });
});
