import {
  VERIFICATION_DURATION_BUCKETS,
  VERIFICATION_OUTCOMES,
  type VerificationStats,
  verificationOutcome,
} from '@keyward/keys';
import type { AuthResult } from 'keyward';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Which dependencies a readiness check found down, for `keyward_dependency_up`. */
export interface DependencyStates {
  /** Each dependency checked, `true` when it answered. */
  readonly up: Readonly<Record<string, boolean>>;
}

export interface ServeMetricsOptions {
  /** Register into this registry; default a new one. */
  registry?: Registry;
  /** Also the process metrics of prom-client (CPU, memory, event-loop lag, handles). Default true. */
  processMetrics?: boolean;
  /** Where `keyward_dependency_up` comes from: called at each scrape (bounded and cached by the caller). */
  dependencies?: () => Promise<DependencyStates>;
}

/**
 * `keyward serve`'s Prometheus metrics. The request path only adds to plain numbers
 * (`observe`, `storeError`, `redisError`); the prom-client metrics read them when scraped,
 * so a verification costs a few increments and no allocation, whatever the scrape rate.
 */
export interface ServeMetrics {
  readonly registry: Registry;
  /** The guard's `observe` hook (`createGuard({ observe })`): counts the outcome and times it. */
  readonly observe: (result: AuthResult<unknown>, elapsedMs: number) => void;
  /** Reads cache hits, misses and lookup errors from a `KeyManager` (its `stats()`) at each scrape. */
  track(source: { stats(): VerificationStats }): void;
  /** Counts a failed background store task (change feed, use-count flush): `KeyManager`'s `onError`. */
  storeError(): void;
  /** Counts an error the Redis connection reported. */
  redisError(): void;
  /** The rate limiter's circuit: `unavailable` opens it (Redis is not asked), `available` closes it. */
  redisState(state: 'unavailable' | 'available'): void;
  /** Counts a webhook delivery attempt by how it ended (`WebhookDispatcher`'s `onDelivery`). */
  webhook(outcome: 'delivered' | 'retried' | 'failed'): void;
  /** The Prometheus text exposition of every metric, for `GET /metrics`. */
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Creates the metrics `keyward serve` exposes on `--metrics-port`, for embedding as well:
 * pass `observe` to the guard, then serve `render()` at `GET /metrics` on a listener that
 * is not public (an admin port). Outcomes are the fixed set of `VERIFICATION_OUTCOMES`:
 * never a label per key.
 */
export function createServeMetrics(options: ServeMetricsOptions = {}): ServeMetrics {
  const registry = options.registry ?? new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  // The request path's state: plain numbers, read at scrape time.
  const labels: string[] = [...VERIFICATION_OUTCOMES, 'anonymous', 'other'];
  const index = new Map(labels.map((outcome, i) => [outcome, i]));
  const counts = new Float64Array(labels.length);
  const bounds = VERIFICATION_DURATION_BUCKETS;
  const buckets = new Float64Array(bounds.length + 1);
  let seconds = 0;
  let storeErrors = 0;
  let redisErrors = 0;
  let circuitOpen = 0;
  let circuitTrips = 0;
  const sources: { stats(): VerificationStats }[] = [];

  const observe = (result: AuthResult<unknown>, elapsedMs: number): void => {
    counts[index.get(verificationOutcome(result))!]!++;
    const s = elapsedMs / 1000;
    seconds += s;
    let b = 0;
    while (b < bounds.length && s > bounds[b]!) b++;
    buckets[b]!++;
  };

  // Counters are told only what was added since the last scrape: they stay counters.
  const reported = new Float64Array(labels.length);
  new Counter({
    name: 'keyward_verifications_total',
    help: 'Verifications by outcome (valid, or why the request was refused).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      for (let i = 0; i < labels.length; i++) {
        const delta = counts[i]! - reported[i]!;
        // The fixed outcomes are always exported (from 0); anonymous and other once seen.
        if (delta > 0 || (i < VERIFICATION_OUTCOMES.length && reported[i] === 0)) {
          this.inc({ outcome: labels[i] }, delta);
          reported[i] = counts[i]!;
        }
      }
    },
  });

  registry.registerMetric(latencyHistogram(bounds, buckets, () => seconds));

  const statsTotal = (field: keyof VerificationStats) => {
    let n = 0;
    for (const s of sources) n += s.stats()[field];
    return n;
  };
  monotonic(registry, 'keyward_cache_hits_total', 'Keys answered from the verification cache.', () =>
    statsTotal('cacheHits'),
  );
  monotonic(registry, 'keyward_cache_misses_total', 'Keys looked up in the store (not in the cache).', () =>
    statsTotal('lookups'),
  );
  monotonic(
    registry,
    'keyward_refused_without_lookup_total',
    'Keys refused without a store lookup: malformed, known unknown, or absent from the membership filter.',
    () => statsTotal('refusedWithoutLookup'),
  );
  const storeOperation = ['lookup', 'background'] as const;
  const storeReported = [0, 0];
  new Counter({
    name: 'keyward_store_errors_total',
    help: 'Key store failures: lookups (answered 503) and background tasks (change feed, use-count flush).',
    labelNames: ['operation'],
    registers: [registry],
    collect() {
      const now = [statsTotal('lookupErrors'), storeErrors];
      for (let i = 0; i < 2; i++) {
        this.inc({ operation: storeOperation[i] }, now[i]! - storeReported[i]!);
        storeReported[i] = now[i]!;
      }
    },
  });
  monotonic(
    registry,
    'keyward_redis_errors_total',
    'Errors reported by the Redis connection.',
    () => redisErrors,
  );
  monotonic(
    registry,
    'keyward_redis_circuit_trips_total',
    'Times the rate limiter stopped asking Redis (its circuit opened).',
    () => circuitTrips,
  );
  new Gauge({
    name: 'keyward_redis_circuit_open',
    help: '1 while the rate limiter does not ask Redis (unreachable; the fail mode answers), else 0.',
    registers: [registry],
    collect() {
      this.set(circuitOpen);
    },
  });
  const dependencies = options.dependencies;
  if (dependencies) {
    new Gauge({
      name: 'keyward_dependency_up',
      help: '1 when the dependency answered the last readiness check, else 0.',
      labelNames: ['dependency'],
      registers: [registry],
      async collect() {
        const { up } = await dependencies();
        for (const [dependency, ok] of Object.entries(up)) this.set({ dependency }, ok ? 1 : 0);
      },
    });
  }

  // Webhook deliveries are seconds apart at most: prom-client's own labelled counter will do.
  const deliveries = new Counter({
    name: 'keyward_webhook_deliveries_total',
    help: 'Webhook delivery attempts by how they ended: delivered, retried (failed, tried again later) or failed (given up on after 24 h).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['delivered', 'retried', 'failed']) deliveries.labels(outcome).inc(0);

  return {
    registry,
    observe,
    webhook(outcome) {
      deliveries.labels(outcome).inc();
    },
    track(source) {
      sources.push(source);
    },
    storeError() {
      storeErrors++;
    },
    redisError() {
      redisErrors++;
    },
    redisState(state) {
      if (state === 'unavailable' && circuitOpen === 0) circuitTrips++;
      circuitOpen = state === 'unavailable' ? 1 : 0;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** A counter without labels whose total is read at scrape time. */
function monotonic(registry: Registry, name: string, help: string, total: () => number): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total();
      // A total that went down (a source replaced) is never reported as a decrease.
      if (now > reported) this.inc(now - reported);
      reported = Math.max(reported, now);
    },
  });
}

/**
 * prom-client's `Histogram` fed from counts kept in typed arrays: its own `observe` hashes
 * labels and allocates on every call, which the request path must not pay.
 */
function latencyHistogram(bounds: readonly number[], buckets: Float64Array, sum: () => number): Histogram {
  const name = 'keyward_verification_duration_seconds';
  const help = 'Time the guard took to decide a request (key lookup, scopes, rate limits), in seconds.';
  const histogram = new Histogram({
    name,
    help,
    buckets: [...bounds],
    // Registered by the caller into its own registry, never prom-client's global one.
    registers: [],
  });
  const read = async () => {
    const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += buckets[i]!;
      values.push({ value: cumulative, labels: { le: bounds[i]! }, metricName: `${name}_bucket` });
    }
    cumulative += buckets[bounds.length]!;
    values.push({ value: cumulative, labels: { le: '+Inf' }, metricName: `${name}_bucket` });
    values.push({ value: sum(), labels: {}, metricName: `${name}_sum` });
    values.push({ value: cumulative, labels: {}, metricName: `${name}_count` });
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  };
  // The registry prefers `getForPromString` when a metric has one (prom-client's Histogram does).
  Object.assign(histogram, { get: read, getForPromString: read });
  return histogram;
}
