// Faults against servers this test owns (never the machine's shared ones): a throwaway
// PostgreSQL cluster and a redis-server of its own, stopped and started under a running
// `keyward serve`.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyFormat } from '../../packages/keys/src/domain/format.js';
import { makeRow } from '../../packages/keys/src/testing/contract.js';
import { PostgresKeyStore } from '../../packages/postgres/src/store.js';
import { OwnPostgres, OwnRedis, ownServersPossible } from '../helpers/services.js';
import { startServe } from '../helpers/spawn.js';
import { cli, createKey, get, type Instance, PEPPER, sleep } from './helpers.js';

const run = ownServersPossible();

const UNAVAILABLE = { detail: 'Authentication temporarily unavailable' };

describe.skipIf(!run)('PostgreSQL restarted under a running instance', () => {
  let db: OwnPostgres;
  let redis: OwnRedis;
  let serve: Instance;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [db, redis] = await Promise.all([OwnPostgres.start(), OwnRedis.start()]);
    env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_PEPPER: PEPPER, KEYWARD_REDIS_URL: redis.url };
  });
  afterAll(async () => {
    await serve?.stop();
    await redis?.stop();
    await db?.destroy();
  });

  it('re-establishes LISTEN by itself and hears changes made after the restart', async () => {
    const watcher = await PostgresKeyStore.open(db.url);
    let heard = 0;
    try {
      await watcher.watch(() => heard++);
      expect(watcher.listening).toBe(true);
      await db.stop();
      await vi.waitFor(() => expect(watcher.listening).toBe(false), { timeout: 5000 });
      await db.start();
      await vi.waitFor(() => expect(watcher.listening).toBe(true), { timeout: 10_000, interval: 50 });
      heard = 0;
      const writer = await PostgresKeyStore.open(db.url);
      await writer.insert(makeRow(), { actor: 't', at: new Date(), action: 'create' });
      await writer.close();
      await vi.waitFor(() => expect(heard).toBe(1), { timeout: 2000, interval: 10 });
    } finally {
      await watcher.close();
    }
  });

  it('serves cached keys, answers 503 where the store is needed, recovers, and loses nothing', async () => {
    const cached = await createKey(env);
    const cold = await createKey(env);
    const limited = await createKey(env, '--uses', '5');
    const revoked = await createKey(env);
    serve = await startServe(['--usage-flush', '1s'], env);
    let cachedOk = 0;
    const useCached = async () => {
      const r = await get(serve.url, cached.key);
      if (r.status === 200) cachedOk++;
      return r;
    };
    for (let i = 0; i < 3; i++) expect((await useCached()).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await get(serve.url, limited.key)).status).toBe(200);
    expect((await get(serve.url, revoked.key)).status).toBe(200);
    // Acknowledged before the outage: a revoke and a new key.
    expect((await cli(['keys', 'revoke', revoked.id], env)).code).toBe(0);
    const later = await createKey(env);
    await vi.waitFor(async () => expect((await get(serve.url, revoked.key)).status).toBe(401), {
      timeout: 2000,
    });

    await db.stop();
    for (let i = 0; i < 5; i++) {
      const r = await useCached();
      expect(r.status).toBe(200);
      await sleep(100);
    }
    // Well-formed keys the instance has not seen need the store; a malformed one would not.
    for (const key of [cold.key, limited.key, keyFormat().generate()]) {
      const r = await get(serve.url, key);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toEqual(UNAVAILABLE);
    }
    expect([401, 503]).toContain((await get(serve.url, revoked.key)).status);
    const during = await cli(['keys', 'create', '--name', 'x'], env);
    expect(during.code).toBe(4);
    expect(during.stderr).toMatch(
      /^keyward: PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/postgres .*unreachable/,
    );
    expect(serve.cli.stdout() + serve.cli.stderr()).not.toContain(cached.key);

    await db.start();
    // Recovers by itself: the pool reconnects on the next request.
    await vi.waitFor(async () => expect((await get(serve.url, cold.key)).status).toBe(200), {
      timeout: 15_000,
      interval: 200,
    });
    expect((await get(serve.url, later.key)).status).toBe(200);
    expect((await get(serve.url, revoked.key)).status).toBe(401);
    const uses = [];
    for (let i = 0; i < 4; i++) uses.push((await get(serve.url, limited.key)).status);
    expect(uses).toEqual([200, 200, 200, 429]);
    // Uses counted in memory during the outage are written once the store is back.
    await vi.waitFor(
      async () => {
        const shown = await cli(['keys', 'show', cached.id, '--json'], env);
        expect(JSON.parse(shown.stdout).useCount).toBe(cachedOk);
      },
      { timeout: 10_000, interval: 500 },
    );
    expect(cachedOk).toBe(8);

    // Notifications work again: a revoke after the restart is enforced within 1 second.
    const result = await cli(['keys', 'revoke', cold.id], env);
    expect(result.code).toBe(0);
    const done = Date.now();
    await vi.waitFor(async () => expect((await get(serve.url, cold.key)).status).toBe(401), {
      timeout: 1000,
      interval: 10,
    });
    console.log(`after the restart, revoke enforced ${Date.now() - done} ms after the CLI exited`);
  });
});

describe.skipIf(!run)('Redis restarted under running instances', () => {
  let db: OwnPostgres;
  let redis: OwnRedis;
  const instances: Record<string, Instance> = {};
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [db, redis] = await Promise.all([OwnPostgres.start(), OwnRedis.start()]);
    env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_PEPPER: PEPPER, KEYWARD_REDIS_URL: redis.url };
    await createKey(env);
    for (const mode of ['local', 'closed', 'open'] as const) {
      instances[mode] = await startServe(['--redis-fail-mode', mode], env);
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(instances).map((i) => i.stop()));
    await redis?.stop();
    await db?.destroy();
  });

  it('holds each fail mode while Redis is down and shares counters again once it is back', async () => {
    const { local, closed } = instances as Record<string, Instance>;
    await local!.cli.waitFor(/fail mode local, each instance counts in its own memory/);
    await closed!.cli.waitFor(/fail mode closed, requests get 503/);
    const limitedKeys = {
      local: await createKey(env, '--rate-limit', '4/1m'),
      closed: await createKey(env, '--rate-limit', '4/1m'),
      open: await createKey(env, '--rate-limit', '4/1m'),
    };
    const unlimited = await createKey(env);
    for (const mode of ['local', 'closed', 'open'] as const) {
      for (let i = 0; i < 2; i++)
        expect((await get(instances[mode]!.url, limitedKeys[mode].key)).status).toBe(200);
    }

    await redis.stop();
    const statuses = async (mode: 'local' | 'closed' | 'open', n: number) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push((await get(instances[mode]!.url, limitedKeys[mode].key)).status);
      return out;
    };
    // local: limits still hold, counted per instance from zero.
    expect(await statuses('local', 6)).toEqual([200, 200, 200, 200, 429, 429]);
    // closed: requests that need a counter get 503 with a JSON detail; others are unaffected.
    const refused = await get(closed!.url, limitedKeys.closed.key);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual(UNAVAILABLE);
    expect((await get(closed!.url, unlimited.key)).status).toBe(200);
    // open: no limit while Redis is down.
    expect(await statuses('open', 6)).toEqual([200, 200, 200, 200, 200, 200]);
    await local!.cli.waitFor(/Redis redis:\/\/127\.0\.0\.1:\d+ unreachable .*rate limits fail local/);
    await closed!.cli.waitFor(/rate limits fail closed: requests get 503/);

    await redis.start();
    // ioredis reconnects by itself; the next requests are counted in Redis again.
    const fresh = await createKey(env, '--rate-limit', '3/1m');
    await vi.waitFor(
      async () => {
        expect((await get(closed!.url, limitedKeys.closed.key)).status).toBe(200);
      },
      { timeout: 15_000, interval: 200 },
    );
    await closed!.cli.waitFor(/reachable again; rate limits are shared again/);
    await vi.waitFor(
      async () => {
        // Only a request that needs a counter finds out that Redis is back.
        await get(local!.url, limitedKeys.local.key);
        expect(local!.cli.stderr()).toMatch(/reachable again/);
      },
      { timeout: 15_000, interval: 200 },
    );
    // Shared again: one budget over both instances, kept in the restarted Redis.
    const shared = [];
    for (let i = 0; i < 5; i++) shared.push((await get(i % 2 ? local!.url : closed!.url, fresh.key)).status);
    expect(shared).toEqual([200, 200, 200, 429, 429]);
    const client = new Redis(redis.url);
    try {
      expect(await client.keys(`*${fresh.id}*`)).not.toEqual([]);
    } finally {
      await client.quit();
    }
  });
});
