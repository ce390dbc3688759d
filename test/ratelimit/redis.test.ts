// Shared counters through Redis: the machine's Redis for sharing, a redis-server of the
// test's own for the fail modes (it is stopped, frozen and started; the shared one never is).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  type AuthResult,
  apiKeyHeader,
  createGuard,
  type FailMode,
  LimiterUnavailableError,
  rateLimits,
} from 'keyward';
import { redisRateLimiter } from 'keyward/redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OwnRedis, REDIS_URL, requireService } from '../helpers/services.js';

const rule = { limit: 10, windowSeconds: 60 };
const run = await requireService('Redis', Number(new URL(REDIS_URL).port));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!run)('redisRateLimiter', () => {
  const clients: Redis[] = [];
  const client = (url: string) => {
    const c = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  afterAll(() => Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect()))));

  it('shares one budget across instances: the sum of allowed requests respects the limit', async () => {
    const prefix = `keyward-test:${randomUUID()}`;
    const a = redisRateLimiter({ client: client(REDIS_URL), prefix });
    const b = redisRateLimiter({ client: client(REDIS_URL), prefix });
    await sleep(200);
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).consume('key:k1', rule)),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
  });

  it('refuses a deadline or probe interval that is not a positive number of milliseconds', () => {
    expect(() => redisRateLimiter({ client: {}, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => redisRateLimiter({ client: {}, probeIntervalMs: 1.5 })).toThrow(/probeIntervalMs/);
  });

  describe('while Redis is unreachable', () => {
    let redis: OwnRedis;
    beforeAll(async () => {
      redis = await OwnRedis.start();
    });
    afterAll(() => redis?.stop());

    async function underOutage(failMode: FailMode) {
      const states: string[] = [];
      const limiter = redisRateLimiter({
        client: client(redis.url),
        prefix: `keyward-test:${randomUUID()}`,
        failMode,
        probeIntervalMs: 100,
        onStateChange: (s) => states.push(s),
      });
      await sleep(200);
      expect((await limiter.consume('b', rule)).allowed).toBe(true);
      await redis.stop();
      const during = [];
      for (let i = 0; i < 12; i++) {
        during.push(
          await limiter.consume('b', rule).then(
            (d) => (d.allowed ? 'allowed' : 'limited'),
            () => 'error',
          ),
        );
      }
      await redis.start();
      // ioredis reconnects by itself; a probe then finds Redis and the limiter follows.
      await vi.waitFor(
        async () => {
          await limiter.consume('b2', rule).catch(() => undefined);
          expect(states).toEqual(['unavailable', 'available']);
        },
        { timeout: 10_000, interval: 100 },
      );
      return { during, after: (await limiter.consume('b2', rule)).allowed };
    }

    it("'open' lets requests through and recovers", async () => {
      const { during, after } = await underOutage('open');
      expect(during.every((d) => d === 'allowed')).toBe(true);
      expect(after).toBe(true);
    });

    it("'closed' refuses (the guard answers 503) and recovers", async () => {
      const { during, after } = await underOutage('closed');
      expect(during.every((d) => d === 'error')).toBe(true);
      expect(after).toBe(true);
    });

    it("'local' keeps limiting per instance in memory and recovers", async () => {
      const { during, after } = await underOutage('local');
      expect(during.filter((d) => d === 'allowed')).toHaveLength(10);
      expect(during.filter((d) => d === 'limited')).toHaveLength(2);
      expect(after).toBe(true);
    });
  });

  // kill -STOP: the connection stays up and nothing is answered. Before the deadline and
  // the breaker, every request needing a counter waited until Redis came back.
  describe('while Redis hangs (SIGSTOP)', () => {
    const TIMEOUT_MS = 250;
    // What a request caught by the hang may take: the deadline plus scheduling slack on a
    // shared machine. Before the fix a request waited as long as Redis was stopped.
    const BOUND_MS = TIMEOUT_MS + 750;
    let redis: OwnRedis;
    beforeAll(async () => {
      redis = await OwnRedis.start();
    });
    afterAll(() => {
      redis?.resume();
      return redis?.stop();
    });

    const verify = (key: string) =>
      key === 'limited' ? { id: 'limited', rateLimit: { limit: 3, windowSeconds: 60 } } : null;
    const from = (key: string) => ({
      header: (n: string) => (n === 'x-api-key' ? key : undefined),
      query: () => '',
      peer: () => '203.0.113.7',
    });
    const code = (r: AuthResult<unknown>) => (r.ok ? 'ok' : r.failure.code);

    /** Authenticates and times it; gives up (as a failure) after 3 s rather than hanging. */
    async function timed(promise: Promise<AuthResult<unknown>> | AuthResult<unknown>) {
      const t0 = performance.now();
      const r = await Promise.race([promise, sleep(3000).then(() => 'hung' as const)]);
      return { code: r === 'hung' ? r : code(r), ms: performance.now() - t0 };
    }

    const expected: Record<FailMode, { limited: string[]; unknown: string }> = {
      open: { limited: ['ok', 'ok', 'ok', 'ok'], unknown: 'invalid' },
      closed: {
        limited: ['unavailable', 'unavailable', 'unavailable', 'unavailable'],
        unknown: 'unavailable',
      },
      // Counted in memory from zero: the limit holds.
      local: { limited: ['ok', 'ok', 'ok', 'rate_limited'], unknown: 'invalid' },
    };

    for (const failMode of ['open', 'closed', 'local'] as const) {
      it(`'${failMode}' answers every request within the deadline and recovers after SIGCONT`, async () => {
        const states: string[] = [];
        const prefix = `keyward-test:${randomUUID()}`;
        const redisClient = client(redis.url);
        const limiter = redisRateLimiter({
          client: redisClient,
          prefix,
          failMode,
          timeoutMs: TIMEOUT_MS,
          probeIntervalMs: 100,
          onStateChange: (s) => states.push(s),
        });
        const guard = createGuard({
          schemes: apiKeyHeader({ name: 'X-API-Key' }),
          verify,
          limits: rateLimits({ limiter, failures: { limit: 100, windowSeconds: 60 } }),
          onError: () => {},
        });
        await sleep(200);
        expect(code(await guard.authenticate(from('warm-up-guess')))).toBe('invalid');

        redis.pause();
        try {
          // Concurrent requests caught by the hang each wait at most the deadline...
          const first = await Promise.all([
            timed(guard.authenticate(from('guess-a'))),
            timed(guard.authenticate(from('guess-b'))),
          ]);
          // ...and once the breaker is open, nothing waits on Redis at all.
          const limited = [];
          for (let i = 0; i < 4; i++) limited.push(await timed(guard.authenticate(from('limited'))));
          const unknown = [];
          for (let i = 0; i < 5; i++) unknown.push(await timed(guard.authenticate(from(`guess-${i}`))));
          await sleep(300); // past the probe interval: no probe piles onto the hung calls
          unknown.push(await timed(guard.authenticate(from('guess-late'))));

          expect(first.map((r) => r.code)).toEqual([expected[failMode].unknown, expected[failMode].unknown]);
          for (const r of first) expect(r.ms).toBeLessThan(BOUND_MS);
          expect(limited.map((r) => r.code)).toEqual(expected[failMode].limited);
          expect(unknown.map((r) => r.code)).toEqual(Array(6).fill(expected[failMode].unknown));
          // Less than one deadline: none of them waited on Redis.
          for (const r of [...limited, ...unknown]) expect(r.ms).toBeLessThan(TIMEOUT_MS);
          expect(states).toEqual(['unavailable']);
        } finally {
          redis.resume();
        }

        // Redis answers again: a probe closes the breaker by itself and counting is shared again.
        await vi.waitFor(
          async () => {
            await guard.authenticate(from('limited'));
            expect(states).toEqual(['unavailable', 'available']);
          },
          { timeout: 10_000, interval: 100 },
        );
        await limiter.consume('probe-bucket', rule).catch(() => undefined);
        expect(await redisClient.get(`${prefix}:10/60:probe-bucket`)).toBe('1');
      });
    }

    it('closed mode refuses with LimiterUnavailableError, not a hang', async () => {
      const limiter = redisRateLimiter({
        client: client(redis.url),
        prefix: `keyward-test:${randomUUID()}`,
        failMode: 'closed',
        timeoutMs: TIMEOUT_MS,
      });
      await sleep(200);
      redis.pause();
      try {
        const t0 = performance.now();
        await expect(limiter.consume('b', rule)).rejects.toBeInstanceOf(LimiterUnavailableError);
        expect(performance.now() - t0).toBeLessThan(BOUND_MS);
      } finally {
        redis.resume();
      }
    });
  });
});
