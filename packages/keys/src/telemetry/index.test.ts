import { metrics } from '@opentelemetry/api';
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { apiKeyHeader, createGuard } from 'keyward';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyManager } from '../manager.js';
import { MemoryKeyStore } from '../store/memory.js';
import { otelObserver, otelTelemetry } from './index.js';

/** A reader the test collects from when it likes (the SDK's in-memory pull). */
class TestReader extends MetricReader {
  protected async onShutdown() {}
  protected async onForceFlush() {}
  /** Data points by instrument name. */
  async points(): Promise<Map<string, DataPoint<unknown>[]>> {
    const { resourceMetrics } = await this.collect();
    const out = new Map<string, DataPoint<unknown>[]>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) out.set(metric.descriptor.name, metric.dataPoints);
    }
    return out;
  }
}

function setup() {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider, meter: provider.getMeter('test') };
}

const byOutcome = (points: DataPoint<unknown>[] | undefined) =>
  Object.fromEntries((points ?? []).map((p) => [p.attributes['keyward.outcome'], p.value]));

afterEach(() => metrics.disable());

describe('otelTelemetry', () => {
  it('counts a guard over a KeyManager by outcome, times it, and reads the cache counts', async () => {
    const { reader, meter } = setup();
    const manager = await KeyManager.open({
      store: new MemoryKeyStore(),
      pollIntervalMs: 0,
      flushIntervalMs: 0,
    });
    const telemetry = otelTelemetry({ meter, manager });
    const guard = createGuard({
      schemes: apiKeyHeader({ name: 'X-API-Key' }),
      verify: manager.verifier(),
      observe: telemetry.observe,
    });
    const admin = guard.require('admin');
    const { key } = await manager.create({ name: 'reader', scopes: ['read'] });
    const revoked = await manager.create({ name: 'old' });
    await manager.revoke(revoked.record.id);
    const ask = (g: typeof guard, k?: string) =>
      g.authenticate({ header: (name: string) => (name === 'x-api-key' ? k : undefined), query: () => '' });
    for (let i = 0; i < 3; i++) await ask(guard, key);
    await ask(guard);
    await ask(guard, revoked.key);
    await ask(guard, 'kw_notAKeyAtAll');
    await ask(admin, key);
    const points = await reader.points();
    expect(byOutcome(points.get('keyward.verifications'))).toEqual({
      valid: 3,
      missing: 1,
      revoked: 1,
      invalid: 1,
      insufficient_scope: 1,
    });
    const [duration] = points.get('keyward.verification.duration') as DataPoint<Histogram>[];
    expect(duration!.value.count).toBe(7);
    expect(duration!.value.buckets.boundaries[0]).toBe(0.00005);
    expect(points.get('keyward.cache.hits')![0]!.value).toBe(manager.stats().cacheHits);
    expect(points.get('keyward.cache.misses')![0]!.value).toBeGreaterThanOrEqual(1);
    expect(points.get('keyward.store.errors')![0]!.value).toBe(0);
    await manager.close();
  });

  it('reports the Redis circuit and errors, and stops reading after close', async () => {
    const { reader, meter } = setup();
    const telemetry = otelTelemetry({ meter });
    telemetry.redisState('unavailable');
    telemetry.redisError();
    telemetry.redisError();
    let points = await reader.points();
    expect(points.get('keyward.redis.circuit.open')![0]!.value).toBe(1);
    expect(points.get('keyward.redis.errors')![0]!.value).toBe(2);
    telemetry.redisState('available');
    points = await reader.points();
    expect(points.get('keyward.redis.circuit.open')![0]!.value).toBe(0);
    telemetry.close();
    // No longer read: a change after close is not seen (the SDK repeats the last point).
    telemetry.redisState('unavailable');
    points = await reader.points();
    expect((points.get('keyward.redis.circuit.open') ?? []).map((p) => p.value)).not.toContain(1);
  });

  it('uses the global meter provider once an SDK is registered, and is a no-op before', async () => {
    const before = otelObserver();
    before({ ok: true, principal: { id: 'k' }, scheme: undefined as never }, 1);
    const { reader, provider } = setup();
    metrics.setGlobalMeterProvider(provider);
    const observe = otelObserver();
    observe({ ok: true, principal: { id: 'k' }, scheme: undefined as never }, 1);
    const points = await reader.points();
    // Only the observer made after registration counted.
    expect(byOutcome(points.get('keyward.verifications'))).toEqual({ valid: 1 });
  });
});
