// `/ready` of a real `keyward serve` while the servers it depends on go away and come
// back: a throwaway PostgreSQL cluster and a redis-server of this test's own (never the
// machine's shared ones), stopped, paused and started again.
import { openKeyManager } from '@keyward/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, OwnPostgres, OwnRedis, ownServersPossible } from '../helpers/services.js';
import { outcome, PEPPER, type Serving, scrape, serveWithMetrics } from './helpers.js';

const run = ownServersPossible();

/** GET /ready on both listeners: they answer alike. Also how long the slower one took. */
async function ready(serving: Serving) {
  const started = performance.now();
  const [pub, ops] = await Promise.all([fetch(`${serving.url}/ready`), fetch(`${serving.metricsUrl}/ready`)]);
  const answer = { status: pub.status, body: await pub.json() };
  expect({ status: ops.status, body: await ops.json() }).toEqual(answer);
  expect(pub.headers.get('cache-control')).toBe('no-store');
  return { ...answer, ms: performance.now() - started };
}

const READY = { status: 200, body: { status: 'ready' } };

describe.skipIf(!run)('readiness while PostgreSQL and Redis (closed mode) go away', () => {
  let db: OwnPostgres;
  let redis: OwnRedis;
  let serving: Serving;
  let cold: string;
  let warm: string;

  beforeAll(async () => {
    [db, redis] = await Promise.all([OwnPostgres.start(), OwnRedis.start()]);
    const manager = await openKeyManager({ database: db.url, pepper: PEPPER, pollIntervalMs: 0 });
    cold = (await manager.create({ name: 'cold' })).key;
    warm = (await manager.create({ name: 'warm' })).key;
    await manager.close();
    // A default rate limit: every request asks Redis.
    serving = await serveWithMetrics(
      ['--redis-fail-mode', 'closed', '--ready-timeout', '1s', '--rate-limit', '1000/1m'],
      {
        KEYWARD_DATABASE_URL: db.url,
        KEYWARD_PEPPER: PEPPER,
        KEYWARD_REDIS_URL: redis.url,
      },
    );
  });
  afterAll(async () => {
    expect(await serving?.stop()).toBe(0);
    await redis?.stop();
    await db?.destroy();
  });

  it('answers 503 naming Redis while it is stopped or hung, and 200 once it is back', async () => {
    await vi.waitFor(async () => expect(await ready(serving)).toMatchObject(READY), {
      timeout: 5000,
      interval: 200,
    });
    await redis.stop();
    await vi.waitFor(
      async () =>
        expect(await ready(serving)).toMatchObject({
          status: 503,
          body: { status: 'unavailable', down: ['redis'] },
        }),
      { timeout: 5000, interval: 200 },
    );
    // Requests need a counter: refused with 503 (closed mode), counted, and the circuit is open.
    const before = await scrape(serving.metricsUrl);
    const get = () => fetch(`${serving.url}/secure-data`, { headers: { 'X-API-Key': warm } });
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(503);
    const down = await scrape(serving.metricsUrl);
    expect(outcome(down, 'unavailable')! - outcome(before, 'unavailable')!).toBe(3);
    expect(down.get('keyward_redis_circuit_open')).toBe(1);
    expect(down.get('keyward_redis_circuit_trips_total')).toBeGreaterThanOrEqual(1);
    expect(down.get('keyward_redis_errors_total')).toBeGreaterThanOrEqual(1);
    expect(down.get('keyward_dependency_up{dependency="redis"}')).toBe(0);
    await redis.start();
    await vi.waitFor(async () => expect(await ready(serving)).toMatchObject(READY), {
      timeout: 10_000,
      interval: 200,
    });
    // The limiter probes Redis again and closes its circuit.
    await vi.waitFor(
      async () => {
        expect((await get()).status).toBe(200);
        expect((await scrape(serving.metricsUrl)).get('keyward_redis_circuit_open')).toBe(0);
      },
      { timeout: 10_000, interval: 300 },
    );
    // A Redis that accepts connections and answers nothing: the probe times out, never hangs.
    redis.pause();
    try {
      await vi.waitFor(
        async () => {
          const r = await ready(serving);
          expect(r).toMatchObject({ status: 503, body: { down: ['redis'] } });
          expect(r.ms).toBeLessThan(2500);
        },
        { timeout: 8000, interval: 200 },
      );
    } finally {
      redis.resume();
    }
    await vi.waitFor(async () => expect(await ready(serving)).toMatchObject(READY), {
      timeout: 10_000,
      interval: 200,
    });
  });

  it('answers 503 naming the store while PostgreSQL is down, counts the 503s, and 200 once it is back', async () => {
    const before = await scrape(serving.metricsUrl);
    expect(before.get('keyward_dependency_up{dependency="store"}')).toBe(1);
    expect(before.get('keyward_dependency_up{dependency="redis"}')).toBe(1);
    await db.stop();
    await vi.waitFor(
      async () =>
        expect(await ready(serving)).toMatchObject({
          status: 503,
          body: { status: 'unavailable', down: ['store'] },
        }),
      { timeout: 5000, interval: 200 },
    );
    // A key never seen by this instance needs the store: each request is a 503, counted once.
    const N = 4;
    for (let i = 0; i < N; i++) {
      const res = await fetch(`${serving.url}/secure-data`, { headers: { 'X-API-Key': cold } });
      expect(res.status).toBe(503);
    }
    const during = await scrape(serving.metricsUrl);
    expect(outcome(during, 'unavailable')! - outcome(before, 'unavailable')!).toBe(N);
    expect(
      during.get('keyward_store_errors_total{operation="lookup"}')! -
        before.get('keyward_store_errors_total{operation="lookup"}')!,
    ).toBe(N);
    expect(during.get('keyward_dependency_up{dependency="store"}')).toBe(0);
    // The security log names the outage.
    const events = serving.cli
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"msg":"security"'))
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.event === 'store_unavailable').length).toBeGreaterThanOrEqual(N);

    await db.start();
    await vi.waitFor(async () => expect(await ready(serving)).toMatchObject(READY), {
      timeout: 15_000,
      interval: 200,
    });
    const res = await fetch(`${serving.url}/secure-data`, { headers: { 'X-API-Key': cold } });
    expect(res.status).toBe(200);
  });
});

describe('readiness with Redis down in the local fail mode', () => {
  it('stays ready and says Redis is degraded', async () => {
    const nothing = await freePort();
    const serving = await serveWithMetrics([], {
      KEYWARD_API_KEYS: 'static-key-for-readiness-0123456789',
      KEYWARD_REDIS_URL: `redis://127.0.0.1:${nothing}`,
    });
    try {
      const r = await ready(serving);
      expect(r).toMatchObject({ status: 200, body: { status: 'ready', degraded: ['redis'] } });
      expect(r.ms).toBeLessThan(2500);
    } finally {
      expect(await serving.stop()).toBe(0);
    }
  });
});
