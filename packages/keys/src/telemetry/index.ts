/**
 * keyward's verification metrics through the OpenTelemetry API (`@opentelemetry/api`, an
 * optional peer dependency): the instruments `keyward serve` exposes to Prometheus, for
 * applications that send their own telemetry. Without a registered SDK every instrument
 * is a no-op.
 * @module
 */
import { type Attributes, type BatchObservableResult, type Meter, metrics } from '@opentelemetry/api';
import type { AuthResult } from 'keyward';
import type { VerificationStats } from '../verify/verification.js';
import {
  VERIFICATION_DURATION_BUCKETS,
  VERIFICATION_OUTCOMES,
  type VerificationOutcome,
  verificationOutcome,
} from './outcome.js';

export {
  VERIFICATION_DURATION_BUCKETS,
  VERIFICATION_OUTCOMES,
  type VerificationOutcome,
  verificationOutcome,
} from './outcome.js';

export interface OtelTelemetryOptions {
  /**
   * Where the instruments are created. Default: `metrics.getMeter('@keyward/keys')` of the
   * global provider, read when `otelTelemetry` is called: register the SDK first (the API
   * hands out a no-op meter until then).
   */
  meter?: Meter;
  /** A `KeyManager` (or anything with its `stats()`): cache hits, misses and store errors. */
  manager?: { stats(): VerificationStats };
}

/** The instruments, and the hooks that feed them. */
export interface OtelTelemetry {
  /** The guard's `observe` hook: `createGuard({ ..., observe: telemetry.observe })`. */
  readonly observe: (result: AuthResult<unknown>, elapsedMs: number) => void;
  /** For `redisRateLimiter({ onStateChange })`: whether the limiter's circuit is open (Redis not asked). */
  readonly redisState: (state: 'unavailable' | 'available') => void;
  /** Counts an error of the Redis connection (e.g. ioredis's `error` event). */
  readonly redisError: () => void;
  /** Stops reading the manager's counts (the observable instruments' callback). */
  close(): void;
}

/**
 * Creates keyward's instruments on an OpenTelemetry meter:
 *
 * - `keyward.verifications` (counter), attribute `keyward.outcome`: one of
 *   `VERIFICATION_OUTCOMES` (never a key or key id: a few series, whatever the key count);
 * - `keyward.verification.duration` (histogram, seconds);
 * - with `manager`: `keyward.cache.hits`, `keyward.cache.misses` and `keyward.store.errors`
 *   (observable counters read at each collection);
 * - `keyward.redis.errors` (counter) and `keyward.redis.circuit.open` (observable gauge, 1
 *   while the rate limiter does not ask Redis), fed by `redisError` and `redisState`.
 *
 * A verification costs an `add` and a `record` with attributes made once, not per call.
 */
export function otelTelemetry(options: OtelTelemetryOptions = {}): OtelTelemetry {
  const meter = options.meter ?? metrics.getMeter('@keyward/keys');
  const verifications = meter.createCounter('keyward.verifications', {
    description: 'Verifications by outcome (valid, or why the request was refused).',
    unit: '{verification}',
  });
  const duration = meter.createHistogram('keyward.verification.duration', {
    description: 'Time the guard took to decide a request (key lookup, scopes, rate limits).',
    unit: 's',
    advice: { explicitBucketBoundaries: [...VERIFICATION_DURATION_BUCKETS] },
  });
  const redisErrors = meter.createCounter('keyward.redis.errors', {
    description: 'Errors reported by the Redis connection.',
    unit: '{error}',
  });
  const attributes: Record<string, Attributes> = Object.create(null);
  for (const outcome of [...VERIFICATION_OUTCOMES, 'anonymous', 'other'] satisfies VerificationOutcome[]) {
    attributes[outcome] = Object.freeze({ 'keyward.outcome': outcome });
  }

  let circuitOpen = 0;
  const circuit = meter.createObservableGauge('keyward.redis.circuit.open', {
    description: '1 while the rate limiter does not ask Redis (unreachable; the fail mode answers), else 0.',
  });
  const observables = [circuit];
  const manager = options.manager;
  const counts = manager && {
    hits: meter.createObservableCounter('keyward.cache.hits', {
      description: 'Keys answered from the verification cache.',
      unit: '{key}',
    }),
    misses: meter.createObservableCounter('keyward.cache.misses', {
      description: 'Keys looked up in the store (not in the cache).',
      unit: '{key}',
    }),
    errors: meter.createObservableCounter('keyward.store.errors', {
      description: 'Key store lookups that failed (answered 503).',
      unit: '{error}',
    }),
  };
  if (counts) observables.push(counts.hits, counts.misses, counts.errors);
  const collect = (result: BatchObservableResult) => {
    result.observe(circuit, circuitOpen);
    if (manager && counts) {
      const s = manager.stats();
      result.observe(counts.hits, s.cacheHits);
      result.observe(counts.misses, s.lookups);
      result.observe(counts.errors, s.lookupErrors);
    }
  };
  meter.addBatchObservableCallback(collect, observables);

  return {
    observe(result, elapsedMs) {
      const outcome = attributes[verificationOutcome(result)];
      verifications.add(1, outcome);
      duration.record(elapsedMs / 1000);
    },
    redisState(state) {
      circuitOpen = state === 'unavailable' ? 1 : 0;
    },
    redisError() {
      redisErrors.add(1);
    },
    close() {
      meter.removeBatchObservableCallback(collect, observables);
    },
  };
}

/** Just the guard's `observe` hook of {@link otelTelemetry}: `createGuard({ observe: otelObserver() })`. */
export function otelObserver(options: OtelTelemetryOptions = {}): OtelTelemetry['observe'] {
  return otelTelemetry(options).observe;
}
