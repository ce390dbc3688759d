import { AuthFailure } from 'keyward';
import { describe, expect, it } from 'vitest';
import { createServeMetrics } from './metrics.js';

const failed = (
  code: ConstructorParameters<typeof AuthFailure>[0],
  reason?: 'revoked' | 'unknown' | 'address',
) => ({
  ok: false as const,
  failure: new AuthFailure(code, undefined, undefined, reason),
});

async function samples(render: () => Promise<{ body: string }>) {
  const map = new Map<string, number>();
  for (const line of (await render()).body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return map;
}

describe('createServeMetrics', () => {
  it('counts outcomes, splits invalid by reason, and times each verification into its bucket', async () => {
    const m = createServeMetrics({ processMetrics: false });
    const ok = { ok: true as const, principal: { id: 'key_x' }, scheme: undefined as never };
    m.observe(ok, 0.03); // 30 µs
    m.observe(ok, 0.2); // 200 µs
    m.observe(failed('invalid', 'revoked'), 3); // 3 ms
    m.observe(failed('invalid', 'unknown'), 0.01);
    m.observe(failed('rate_limited', 'address'), 5000); // past every bound
    m.observe(failed('nonsense' as never), 1);
    const s = await samples(m.render);
    expect(s.get('keyward_verifications_total{outcome="valid"}')).toBe(2);
    expect(s.get('keyward_verifications_total{outcome="revoked"}')).toBe(1);
    expect(s.get('keyward_verifications_total{outcome="invalid"}')).toBe(1);
    expect(s.get('keyward_verifications_total{outcome="rate_limited"}')).toBe(1);
    expect(s.get('keyward_verifications_total{outcome="other"}')).toBe(1);
    expect(s.get('keyward_verifications_total{outcome="anonymous"}')).toBeUndefined();
    expect(s.get('keyward_verifications_total{outcome="missing"}')).toBe(0);
    expect(s.get('keyward_verification_duration_seconds_bucket{le="0.00005"}')).toBe(2);
    expect(s.get('keyward_verification_duration_seconds_bucket{le="0.00025"}')).toBe(3);
    expect(s.get('keyward_verification_duration_seconds_bucket{le="0.005"}')).toBe(5);
    expect(s.get('keyward_verification_duration_seconds_bucket{le="2.5"}')).toBe(5);
    expect(s.get('keyward_verification_duration_seconds_bucket{le="+Inf"}')).toBe(6);
    expect(s.get('keyward_verification_duration_seconds_count')).toBe(6);
    expect(s.get('keyward_verification_duration_seconds_sum')).toBeCloseTo(5.00424, 6);
  });

  it('keeps counters monotonic across scrapes and reads manager stats, store and Redis errors', async () => {
    let stats = { cacheHits: 3, refusedWithoutLookup: 1, lookups: 2, lookupErrors: 1 };
    const m = createServeMetrics({
      processMetrics: false,
      dependencies: async () => ({ up: { store: true, redis: false } }),
    });
    m.track({ stats: () => stats });
    m.storeError();
    m.redisError();
    m.redisState('unavailable');
    m.redisState('unavailable');
    let s = await samples(m.render);
    expect(s.get('keyward_cache_hits_total')).toBe(3);
    expect(s.get('keyward_cache_misses_total')).toBe(2);
    expect(s.get('keyward_store_errors_total{operation="lookup"}')).toBe(1);
    expect(s.get('keyward_store_errors_total{operation="background"}')).toBe(1);
    expect(s.get('keyward_redis_errors_total')).toBe(1);
    expect(s.get('keyward_redis_circuit_open')).toBe(1);
    expect(s.get('keyward_redis_circuit_trips_total')).toBe(1);
    expect(s.get('keyward_dependency_up{dependency="store"}')).toBe(1);
    expect(s.get('keyward_dependency_up{dependency="redis"}')).toBe(0);
    stats = { cacheHits: 10, refusedWithoutLookup: 1, lookups: 2, lookupErrors: 1 };
    m.redisState('available');
    m.observe({ ok: true, principal: { id: 'k' }, scheme: undefined as never }, 1);
    s = await samples(m.render);
    expect(s.get('keyward_cache_hits_total')).toBe(10);
    expect(s.get('keyward_store_errors_total{operation="lookup"}')).toBe(1);
    expect(s.get('keyward_redis_circuit_open')).toBe(0);
    expect(s.get('keyward_verifications_total{outcome="valid"}')).toBe(1);
    s = await samples(m.render);
    expect(s.get('keyward_verifications_total{outcome="valid"}')).toBe(1);
  });

  it('counts webhook delivery attempts by how they ended, every outcome from zero', async () => {
    const m = createServeMetrics({ processMetrics: false });
    const at = (outcome: string) => `keyward_webhook_deliveries_total{outcome="${outcome}"}`;
    let s = await samples(m.render);
    expect([s.get(at('delivered')), s.get(at('retried')), s.get(at('failed'))]).toEqual([0, 0, 0]);
    m.webhook('retried');
    m.webhook('delivered');
    m.webhook('delivered');
    m.webhook('failed');
    s = await samples(m.render);
    expect([s.get(at('delivered')), s.get(at('retried')), s.get(at('failed'))]).toEqual([2, 1, 1]);
  });

  it('adds the process metrics by default, and renders the Prometheus text type', async () => {
    const m = createServeMetrics();
    const { contentType, body } = await m.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('process_resident_memory_bytes');
    expect(body).toContain('# TYPE keyward_verification_duration_seconds histogram');
    expect(body).toContain('# TYPE keyward_verifications_total counter');
  });
});
