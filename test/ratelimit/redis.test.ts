// Shared counters through Redis: the machine's Redis for sharing, a redis-server of the
// test's own for the fail modes (it is stopped and started; the shared one never is).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FailMode, redisRateLimiter } from '../../packages/keyward/src/limits/limiter.js';
import { OwnRedis, REDIS_URL, requireService } from '../helpers/services.js';

const rule = { limit: 10, windowSeconds: 60 };
const run = await requireService('Redis', Number(new URL(REDIS_URL).port));

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
    await new Promise((r) => setTimeout(r, 200));
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).consume('key:k1', rule)),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
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
        onStateChange: (s) => states.push(s),
      });
      await new Promise((r) => setTimeout(r, 200));
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
      // ioredis reconnects by itself; the limiter follows.
      let after = 'error';
      for (let i = 0; i < 50 && after !== 'allowed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await limiter.consume('b2', rule).then(
          (d) => (d.allowed ? 'allowed' : 'limited'),
          () => 'error',
        );
      }
      return { during, after, states };
    }

    it("'open' lets requests through and recovers", async () => {
      const { during, after, states } = await underOutage('open');
      expect(during.every((d) => d === 'allowed')).toBe(true);
      expect(after).toBe('allowed');
      expect(states).toEqual(['unavailable', 'available']);
    });

    it("'closed' refuses (the guard answers 503) and recovers", async () => {
      const { during, after } = await underOutage('closed');
      expect(during.every((d) => d === 'error')).toBe(true);
      expect(after).toBe('allowed');
    });

    it("'local' keeps limiting per instance in memory and recovers", async () => {
      const { during, after } = await underOutage('local');
      expect(during.filter((d) => d === 'allowed')).toHaveLength(10);
      expect(during.filter((d) => d === 'limited')).toHaveLength(2);
      expect(after).toBe('allowed');
    });
  });
});
