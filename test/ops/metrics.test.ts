// `GET /metrics` of a real `keyward serve`, over real HTTP: N requests of each kind are
// counted exactly N under their outcome, on SQLite and on PostgreSQL with Redis.
import { join } from 'node:path';
import { openKeyManager } from '@keyward/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PG_URL, REDIS_URL, requireService } from '../helpers/services.js';
import { runCli } from '../helpers/spawn.js';
import { tempDir } from '../keys/temp.js';
import { isolatedDatabase } from '../scale/helpers.js';
import {
  type KeyKinds,
  makeKeys,
  outcome,
  PEPPER,
  requestsOf,
  type Serving,
  scrape,
  serveWithMetrics,
} from './helpers.js';

const N = 7;

function countsExactly(name: string, start: () => Promise<{ serving: Serving; keys: KeyKinds }>) {
  describe(name, () => {
    let serving: Serving;
    let keys: KeyKinds;
    beforeAll(async () => {
      ({ serving, keys } = await start());
    });
    afterAll(async () => {
      expect(await serving?.stop()).toBe(0);
    });

    it('counts N requests of each kind exactly N under its outcome', async () => {
      const before = await scrape(serving.metricsUrl);
      // Every fixed outcome is exported from the start, at 0.
      for (const o of ['valid', 'missing', 'unavailable', 'restricted', 'expired']) {
        expect(outcome(before, o)).toBe(0);
      }
      const kinds = requestsOf(serving.url, keys);
      // The first request of the rate-limited and of the one-use key passes: N + 2 valid.
      expect(await kinds.rate_limited.send()).toBe(200);
      expect(await kinds.usage_exceeded.send()).toBe(200);
      for (const [kind, { status, send }] of Object.entries(kinds)) {
        for (let i = 0; i < N; i++) expect([kind, await send()]).toEqual([kind, status]);
      }
      const after = await scrape(serving.metricsUrl);
      for (const kind of Object.keys(kinds)) {
        expect([kind, outcome(after, kind)]).toEqual([kind, kind === 'valid' ? N + 2 : N]);
      }
      expect(outcome(after, 'unavailable')).toBe(0);
      // Every verification was timed once.
      const total = [...Object.keys(kinds)].reduce((n, k) => n + outcome(after, k)!, 0);
      expect(after.get('keyward_verification_duration_seconds_count')).toBe(total);
      expect(after.get('keyward_verification_duration_seconds_bucket{le="+Inf"}')).toBe(total);
      expect(after.get('keyward_verification_duration_seconds_sum')).toBeGreaterThan(0);
      // Cache: the reader key was looked up once and answered from memory after.
      expect(after.get('keyward_cache_hits_total')).toBeGreaterThanOrEqual(N);
      expect(after.get('keyward_cache_misses_total')).toBeGreaterThanOrEqual(1);
      expect(after.get('keyward_store_errors_total{operation="lookup"}')).toBe(0);
      expect(after.get('keyward_dependency_up{dependency="store"}')).toBe(1);
      // Redis is up: the circuit is closed, or closes at its next probe (once a second) if a
      // slow answer on this busy machine (over the limiter's 250 ms) opened it meanwhile.
      let circuit = after.get('keyward_redis_circuit_open');
      for (let i = 0; i < 30 && circuit !== 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        circuit = (await scrape(serving.metricsUrl)).get('keyward_redis_circuit_open');
      }
      expect(circuit).toBe(0);
      // Bounded cardinality: no series names a key or its id.
      const text = await (await fetch(`${serving.metricsUrl}/metrics`)).text();
      for (const key of Object.values(keys)) expect(text).not.toContain(key.slice(0, 12));
      expect(text).not.toMatch(/key_[0-9A-Za-z]{10}/);
      expect(text.split('\n').filter((l) => l.startsWith('keyward_')).length).toBeLessThan(100);
    });

    it('serves metrics only on the metrics listener, never on the public port', async () => {
      expect((await fetch(`${serving.url}/metrics`)).status).toBe(404);
      const res = await fetch(`${serving.metricsUrl}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect((await fetch(`${serving.metricsUrl}/secure-data`)).status).toBe(404);
      expect((await fetch(`${serving.metricsUrl}/metrics`, { method: 'POST' })).status).toBe(405);
      // Redis counts once connected (a readiness answer is reused for a second).
      await vi.waitFor(
        async () =>
          expect(await (await fetch(`${serving.metricsUrl}/ready`)).json()).toEqual({ status: 'ready' }),
        { timeout: 5000, interval: 200 },
      );
    });
  });
}

const dir = tempDir('keyward-metrics-');

countsExactly('metrics on SQLite', async () => {
  const db = join(dir, 'metrics.db');
  const manager = await openKeyManager({ database: db, pepper: PEPPER, pollIntervalMs: 0 });
  const keys = await makeKeys(manager);
  await manager.close();
  await new Promise((r) => setTimeout(r, 250)); // the expired key's 200 ms
  const serving = await serveWithMetrics(['--db', db], { KEYWARD_PEPPER: PEPPER });
  return { serving, keys };
});

const services = (await requireService('PostgreSQL', 5432)) && (await requireService('Redis', 6379));

describe.skipIf(!services)('with PostgreSQL and Redis', () => {
  countsExactly('metrics on PostgreSQL with Redis', async () => {
    const { url } = isolatedDatabase(PG_URL, 'metrics');
    const manager = await openKeyManager({ database: url, pepper: PEPPER, pollIntervalMs: 0 });
    const keys = await makeKeys(manager);
    await manager.close();
    await new Promise((r) => setTimeout(r, 250));
    const serving = await serveWithMetrics(['--auth-failure-limit', '1000/1m'], {
      KEYWARD_DATABASE_URL: url,
      KEYWARD_PEPPER: PEPPER,
      KEYWARD_REDIS_URL: REDIS_URL,
      KEYWARD_REDIS_PREFIX: `keyward:test:metrics:${process.pid}:${Date.now()}`,
    });
    return { serving, keys };
  });
});

/** Metric samples of a Prometheus text body, by full name with labels. */
function samplesOf(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    samples.set(line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return samples;
}

describe('metrics on the admin listener', () => {
  let cli: ReturnType<typeof runCli>;
  let url: string;
  let adminUrl: string;
  let keys: KeyKinds;
  const roots: Record<string, string> = {};

  beforeAll(async () => {
    const db = join(dir, 'admin-metrics.db');
    const manager = await openKeyManager({ database: db, pepper: PEPPER, pollIntervalMs: 0 });
    keys = await makeKeys(manager);
    for (const [name, scopes] of [
      ['usage', ['keyward:usage:read']],
      ['all', ['keyward:*']],
      ['keys', ['keyward:keys:read', 'keyward:keys:write', 'keyward:audit:read', 'keyward:webhooks:write']],
      ['plain', ['read']],
    ] as const) {
      roots[name] = (await manager.create({ name: `root ${name}`, scopes: [...scopes] })).key;
    }
    await manager.close();
    await new Promise((r) => setTimeout(r, 250)); // the expired key's 200 ms
    // No --metrics-port: the admin listener is what serves the metrics.
    cli = runCli(['serve', '--port', '0', '--db', db], { KEYWARD_PEPPER: PEPPER });
    [, url] = (await cli.waitFor(/demo API listening on (http:\/\/\S+)/)) as [string, string];
    [, adminUrl] = (await cli.waitFor(/admin API listening on (http:\/\/\S+)/)) as [string, string];
    await cli.waitFor(/Prometheus metrics at http:\/\/\S+\/metrics/);
  });
  afterAll(async () => {
    if (cli.child.exitCode === null) {
      cli.child.kill('SIGTERM');
      expect(await cli.exited()).toBe(0);
    }
  });

  const scrapeAdmin = async (key: string) => {
    const res = await fetch(`${adminUrl}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return samplesOf(await res.text());
  };

  it('counts N requests of each kind exactly N, read with a keyward:usage:read root key', async () => {
    const before = await scrapeAdmin(roots.usage!);
    const kinds = requestsOf(url, keys);
    for (const kind of Object.keys(kinds)) expect([kind, outcome(before, kind)]).toEqual([kind, 0]);
    expect(await kinds.rate_limited.send()).toBe(200);
    expect(await kinds.usage_exceeded.send()).toBe(200);
    for (const [kind, { status, send }] of Object.entries(kinds)) {
      for (let i = 0; i < N; i++) expect([kind, await send()]).toEqual([kind, status]);
    }
    // keyward:* reads them too; the scrapes' own root-key checks are not verifications of the API.
    const after = await scrapeAdmin(roots.all!);
    for (const kind of Object.keys(kinds)) {
      expect([kind, outcome(after, kind)]).toEqual([kind, kind === 'valid' ? N + 2 : N]);
    }
    const total = Object.keys(kinds).reduce((n, k) => n + outcome(after, k)!, 0);
    expect(after.get('keyward_verification_duration_seconds_count')).toBe(total);
    expect(after.get('keyward_dependency_up{dependency="store"}')).toBe(1);
  });

  it('refuses a scrape without a root key (401) or without keyward:usage:read (403)', async () => {
    const status = async (headers: Record<string, string>) => {
      const res = await fetch(`${adminUrl}/metrics`, { headers });
      const text = await res.text();
      expect(text).not.toContain('keyward_verifications_total');
      return [res.status, res.headers.get('www-authenticate')];
    };
    expect(await status({})).toEqual([401, 'Bearer, APIKey']);
    expect(await status({ authorization: 'Bearer kw_madeUpKeyThatIsNotStoredAnywhere0123' })).toEqual([
      401,
      'Bearer, APIKey',
    ]);
    expect(await status({ authorization: `Basic ${roots.usage}` })).toEqual([401, 'Bearer, APIKey']);
    expect(await status({ authorization: `Bearer ${roots.keys}` })).toEqual([403, null]);
    expect(await status({ authorization: `Bearer ${roots.plain}` })).toEqual([403, null]);
    expect(await status({ authorization: `Bearer ${keys.reader}` })).toEqual([403, null]);
    // The X-API-Key header works as on every admin route.
    expect((await fetch(`${adminUrl}/metrics`, { headers: { 'x-api-key': roots.usage! } })).status).toBe(200);
  });

  it('is in the admin OpenAPI document under keyward:usage:read', async () => {
    const doc = (await (await fetch(`${adminUrl}/v1/openapi.json`)).json()) as {
      paths: Record<string, { get?: { security?: unknown } }>;
    };
    expect(doc.paths['/metrics']?.get?.security).toEqual([
      { HTTPBearer: ['keyward:usage:read'] },
      { APIKeyHeader: ['keyward:usage:read'] },
    ]);
  });

  it('is never on the public port', async () => {
    const tries: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${roots.all}` },
      { 'x-api-key': keys.reader },
    ];
    for (const headers of tries) {
      const res = await fetch(`${url}/metrics`, { headers });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('keyward_verifications_total');
    }
  });
});
