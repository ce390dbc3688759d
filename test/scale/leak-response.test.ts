// A leak GitHub reports to one of two `keyward serve` instances on one PostgreSQL: how
// fast both refuse the key, and how long a 1,000-token report takes on PostgreSQL.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, requireService } from '../helpers/services.js';
import { startServe } from '../helpers/spawn.js';
import { type Instance, isolatedDatabase, PEPPER } from './helpers.js';

const run = await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432));
const ID = 'leak-test-key-1';

describe.skipIf(!run)('leak response across two instances on PostgreSQL', () => {
  const db = isolatedDatabase(PG_URL, 'leak');
  const env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_PEPPER: PEPPER, KEYWARD_KEY_PREFIX: 'acme' };
  const dir = mkdtempSync(join(tmpdir(), 'keyward-leak-scale-'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let a: Instance;
  let b: Instance;
  let admin: pg.Client;
  let manager: KeyManager;

  const report = (base: string, keys: readonly string[], where: string) => {
    const body = JSON.stringify(
      keys.map((token) => ({ token, type: 'acme_api_key', url: where, source: 'content' })),
    );
    return fetch(`${base}/v1/secret-scanning/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'github-public-key-identifier': ID,
        'github-public-key-signature': sign('sha256', Buffer.from(body), {
          key: privateKey,
          dsaEncoding: 'der',
        }).toString('base64'),
      },
      body,
    });
  };
  const status = async (base: string, key: string) =>
    (await fetch(`${base}/secure-data`, { headers: { 'X-API-Key': key } })).status;
  /** Resolves with when `base` first refuses `key` (polled without pause). */
  const refusedAt = async (base: string, key: string) => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) if ((await status(base, key)) === 401) return performance.now();
    throw new Error(`${base} still accepts the key after 10 s`);
  };

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const keys = join(dir, 'github-keys.json');
    const key = publicKey.export({ type: 'spki', format: 'pem' });
    writeFileSync(keys, JSON.stringify({ public_keys: [{ key_identifier: ID, key, is_current: true }] }));
    manager = await openKeyManager({ database: db.url, pepper: PEPPER, prefix: 'acme', pollIntervalMs: 0 });
    await manager.create({ name: 'first' });
    const args = ['--github-scanning-keys', keys, '--log-level', 'silent'];
    [a, b] = await Promise.all([startServe(args, env), startServe(args, env)]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await manager?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`);
    await admin?.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a key reported to one instance is refused by both within 1 s (p99 of 40)', async () => {
    const samples: number[] = [];
    for (let i = 0; i < 40; i++) {
      const { key } = await manager.create({ name: `leak-${i}` });
      // Both have it cached as valid: only the change feed can turn it away on the other.
      expect(await status(a.url, key)).toBe(200);
      expect(await status(b.url, key)).toBe(200);
      const started = performance.now();
      const res = await report(a.url, [key], `https://github.com/octo/app/blob/${i}/.env`);
      expect(res.status).toBe(200);
      const refused = await Promise.all([refusedAt(a.url, key), refusedAt(b.url, key)]);
      samples.push(Math.max(...refused) - started);
    }
    samples.sort((x, y) => x - y);
    const p99 = samples[Math.ceil(samples.length * 0.99) - 1]!;
    const p50 = samples[Math.floor(samples.length / 2)]!;
    console.log(
      `leak to refusal on both instances: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${samples.at(-1)!.toFixed(0)} ms (n=${samples.length})`,
    );
    expect(p99).toBeLessThan(1000);
  });

  it('processes a 1,000-token report in under 2 s, and the other instance refuses the keys', async () => {
    const keys = Array.from({ length: 1000 }, () => manager.format.generate());
    await manager.importKeys(keys.map((key) => ({ key })));
    for (const key of keys.slice(0, 5)) expect(await status(b.url, key)).toBe(200);
    const started = performance.now();
    const res = await report(a.url, keys, 'https://github.com/octo/app/blob/bulk/keys.txt');
    const verdicts = (await res.json()) as { label: string }[];
    const elapsed = performance.now() - started;
    const refused = await Promise.all(keys.slice(0, 5).map((key) => refusedAt(b.url, key)));
    console.log(
      `secret scanning: 1,000 true positives (PostgreSQL) processed in ${elapsed.toFixed(0)} ms; refused by the other instance ${(Math.max(...refused) - started).toFixed(0)} ms after the report was sent`,
    );
    expect(res.status).toBe(200);
    expect(verdicts.every((v) => v.label === 'true_positive')).toBe(true);
    expect(elapsed).toBeLessThan(2000);
    const leaks = (await manager.audit({ limit: 1000 })).filter((e) => e.action === 'leak');
    expect(leaks).toHaveLength(1000);
  });
});
