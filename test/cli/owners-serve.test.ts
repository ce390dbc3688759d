// Owners, credits and lifecycle policies over real HTTP: `keyward serve` on SQLite, set up
// through the CLI and the library, as separate processes sharing the database file.
import { join } from 'node:path';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../helpers/spawn.js';
import { PEPPER, tempDir } from '../keys/temp.js';
import { cli, type Instance } from '../scale/helpers.js';

const dir = tempDir('keyward-owners-');
const db = join(dir, 'keyward.db');
const env = { KEYWARD_DATABASE_URL: db, KEYWARD_PEPPER: PEPPER };
let serve: Instance;
let manager: KeyManager;

const call = (key: string, path: string) => fetch(serve.url + path, { headers: { 'X-API-Key': key } });

beforeAll(async () => {
  manager = await openKeyManager({ database: db, env, pollIntervalMs: 0 });
  serve = await startServe(['--usage-flush', '1s'], env);
}, 60_000);
afterAll(async () => {
  await serve?.stop();
  await manager?.close();
});

describe('keyward owners on SQLite', () => {
  it('creates and shows owners through the CLI, and refuses keys of an owner that does not exist', async () => {
    const created = await cli(
      [
        'owners',
        'create',
        'cli-acme',
        '--credits',
        '40',
        '--refill',
        '1000/month',
        '--refill-day',
        '31',
        '--timezone',
        'Europe/Berlin',
        '--rate-limit',
        '100/1m',
        '--json',
      ],
      env,
    );
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'cli-acme',
      credits: 40,
      rateLimit: { limit: 100, windowSeconds: 60 },
      refill: { amount: 1000, period: 'month', day: 31, timeZone: 'Europe/Berlin' },
      nextRefillAt: expect.any(String),
    });
    const ghost = await cli(['keys', 'create', '--name', 'x', '--owner', 'ghost'], env);
    expect(ghost.code).toBe(3);
    expect(ghost.stderr).toMatch(/no owner named "ghost"/);
    expect((await manager.list({ owner: 'ghost' })).items).toEqual([]);
    const key = await cli(
      ['keys', 'create', '--name', 'x', '--owner', 'cli-acme', '--credits', '3', '--json'],
      env,
    );
    expect(JSON.parse(key.stdout)).toMatchObject({ owner: 'cli-acme', remainingUses: 3 });
    const refused = await cli(['owners', 'delete', 'cli-acme'], env);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(/not revoked/);
    const audit = JSON.parse((await cli(['audit', '--limit', '3', '--json'], env)).stdout) as {
      entries: { action: string }[];
    };
    expect(audit.entries.slice(0, 2).map((e) => e.action)).toEqual(['create', 'owner_create']);
  }, 60_000);

  it('takes mixed route costs from shared credits: never below zero, never refusing what it can pay', async () => {
    await manager.createOwner({ name: 'acme', credits: 100 });
    const keys = await Promise.all([1, 2, 3].map((i) => manager.create({ name: `k${i}`, owner: 'acme' })));
    const requests = Array.from({ length: 200 }, (_, i) => ({
      path: i % 3 === 0 ? '/expensive-data' : '/secure-data',
      cost: i % 3 === 0 ? 5 : 1,
      key: keys[i % 3]!.key,
    }));
    const responses = await Promise.all(requests.map((r) => call(r.key, r.path)));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    const paid = requests.filter((_, i) => responses[i]!.status === 200).reduce((s, r) => s + r.cost, 0);
    const left = (await manager.getOwner('acme')).credits!;
    expect(paid + left).toBe(100);
    // The balance only goes down: a request refused could not have been paid even at the end.
    const refused = requests.filter((_, i) => responses[i]!.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.cost).toBeGreaterThan(left);
    for (const [i, res] of responses.entries()) {
      if (res.status === 200) {
        expect(Number(res.headers.get('x-credits-remaining'))).toBeGreaterThanOrEqual(0);
      } else {
        expect(res.status).toBe(429);
        expect(bodies[i]).toBe('{"detail":"API key usage limit exceeded"}');
        // No refill: nothing to wait for.
        expect(res.headers.get('retry-after')).toBeNull();
      }
    }
    const remaining = responses
      .filter((r) => r.status === 200)
      .map((r) => Number(r.headers.get('x-credits-remaining')));
    expect(Math.min(...remaining)).toBe(left);
  }, 60_000);

  it("shares an owner's rate limit: exactly N requests pass across its keys", async () => {
    await manager.createOwner({ name: 'limited', rateLimit: '10/1m' });
    const [a, b] = await Promise.all([1, 2].map((i) => manager.create({ name: `r${i}`, owner: 'limited' })));
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call(i % 2 ? a!.key : b!.key, '/secure-data')),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    const refused = responses.find((r) => r.status === 429)!;
    expect(await refused.text()).toBe('{"detail":"Too many requests"}');
    expect(refused.headers.get('ratelimit-policy')).toBe('"owner";q=10;w=60');
  }, 60_000);

  it('refills once after downtime, with Retry-After until the next refill while empty', async () => {
    await manager.createOwner({ name: 'daily', refill: '5/day', timeZone: 'Asia/Tokyo' });
    const { key } = await manager.create({ name: 'd', owner: 'daily' });
    for (let i = 0; i < 5; i++) expect((await call(key, '/secure-data')).status).toBe(200);
    const empty = await call(key, '/secure-data');
    expect(empty.status).toBe(429);
    const wait = Number(empty.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(86_400);
    // Three days of downtime: the marker of the last refill is moved back, as time would.
    const raw = new Database(db);
    raw
      .prepare("UPDATE keyward_owners SET refilled_at = refilled_at - 3 * 86400000 WHERE name = 'daily'")
      .run();
    raw.close();
    const after = await Promise.all(Array.from({ length: 20 }, () => call(key, '/secure-data')));
    expect(after.filter((r) => r.status === 200)).toHaveLength(5);
  }, 60_000);

  it('keeps keys within the maximum lifetime and disables stale keys in one audited step', async () => {
    expect((await cli(['policy', 'set', '--max-lifetime', '90d'], env)).code).toBe(0);
    const long = await cli(['keys', 'create', '--name', 'long', '--expires', '91d'], env);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/at most 90d/);
    await manager.setMaxLifetime(null);
    const { key, record } = await manager.create({ name: 'stale' });
    expect((await call(key, '/secure-data')).status).toBe(200);
    await manager.flush();
    // Its last use 100 days ago (usage is flushed by serve each second: wait for it, then move it back).
    const raw = new Database(db);
    const old = Date.now() - 100 * 86_400_000;
    for (let i = 0; i < 50; i++) {
      const row = raw.prepare('SELECT last_used_at FROM keyward_keys WHERE id = ?').get(record.id) as {
        last_used_at: number | null;
      };
      if (row.last_used_at !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    raw
      .prepare('UPDATE keyward_keys SET last_used_at = ?, created_at = ? WHERE id = ?')
      .run(old, old, record.id);
    // Every other key of this file was used or created just now.
    raw.close();
    const dry = await cli(['keys', 'disable', '--stale', '90d', '--json'], env);
    expect(JSON.parse(dry.stdout)).toMatchObject({ disabled: false, keys: [{ id: record.id }] });
    // (A request now would make it used again: serve flushes usage each second.)
    const done = await cli(['keys', 'disable', '--stale', '90d', '--yes', '--json'], env);
    expect(JSON.parse(done.stdout)).toMatchObject({
      disabled: true,
      keys: [{ id: record.id, enabled: false }],
    });
    // The running server hears of it through the change feed.
    let status = 200;
    for (let i = 0; i < 50 && status === 200; i++) {
      status = (await call(key, '/secure-data')).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    const [entry] = await manager.audit({ limit: 1 });
    expect(entry).toMatchObject({ action: 'disable', keyId: record.id });
  }, 60_000);

  it('rotates a key in place through the CLI: same id, both secrets work, a revoke stops both', async () => {
    await manager.createOwner({ name: 'rot' });
    const old = await manager.create({ name: 'svc', owner: 'rot', scopes: ['admin'] });
    expect((await call(old.key, '/admin-data')).status).toBe(200);
    const rotated = await cli(
      ['keys', 'rotate', old.record.id, '--in-place', '--grace', '1h', '--json'],
      env,
    );
    expect(rotated.code).toBe(0);
    const { key, id, owner, scopes } = JSON.parse(rotated.stdout) as Record<string, unknown>;
    expect([id, owner, scopes]).toEqual([old.record.id, 'rot', ['admin']]);
    expect((await call(key as string, '/admin-data')).status).toBe(200);
    expect((await call(old.key, '/admin-data')).status).toBe(200);
    expect((await cli(['keys', 'revoke', old.record.id], env)).code).toBe(0);
    for (const k of [key as string, old.key]) {
      let status = 200;
      for (let i = 0; i < 50 && status === 200; i++) {
        status = (await call(k, '/admin-data')).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(401);
    }
  }, 60_000);
});
