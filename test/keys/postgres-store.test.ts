// The store contract against the machine's PostgreSQL (database `test`), every store in a
// schema of its own (search_path set through the connection options), dropped afterwards.
import { randomBytes } from 'node:crypto';
import { KeyManager, StoreUnavailableError } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { KeywardConfigError } from 'keyward';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeStoreContract, makeRow } from '../../packages/keys/src/testing/contract.js';
import { SCHEMA_VERSION } from '../../packages/postgres/src/schema.js';
import { PostgresKeyStore } from '../../packages/postgres/src/store.js';
import { freePort, PG_URL, requireService } from '../helpers/services.js';
import { PEPPER } from './temp.js';

const run = await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432));
const runId = randomBytes(4).toString('hex');
let n = 0;
const ctx = { actor: 't', at: new Date(), action: 'create' } as const;

/** A fresh schema name of this run; every one is dropped after the file. */
const schemas: string[] = [];
function newSchema(): string {
  const name = `keyward_test_${runId}_${++n}`;
  schemas.push(name);
  return name;
}

function withSearchPath(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

function withSchema(schema: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

let admin: pg.Client;
if (run) {
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });
  afterAll(async () => {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await admin.end();
  });
}

describe.skipIf(!run)('PostgreSQL', () => {
  describeStoreContract('postgres', async () => {
    const schema = newSchema();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const store = await PostgresKeyStore.open(withSearchPath(schema));
    return { store, dispose: () => store.close() };
  });

  describe('PostgresKeyStore', () => {
    it('names (prepares) the hash lookup, unless prepared_statements=false (poolers)', async () => {
      const spy = vi.spyOn(pg.Pool.prototype, 'query');
      try {
        const names: Record<string, unknown[]> = {};
        for (const prepared of ['true', 'false']) {
          const store = await PostgresKeyStore.open(
            `${withSchema(newSchema())}&prepared_statements=${prepared}`,
          );
          try {
            const row = makeRow();
            await store.insert(row, ctx);
            spy.mockClear();
            expect(await store.findByHash(row.hash)).toMatchObject({ id: row.id });
            expect(await store.findByHash(randomBytes(32))).toBeUndefined();
            names[prepared] = spy.mock.calls.map((call) => (call[0] as { name?: string }).name);
          } finally {
            await store.close();
          }
        }
        expect(names['true']).toEqual([
          expect.stringMatching(/^keyward_by_hash /),
          expect.stringMatching(/^keyward_by_hash /),
        ]);
        expect(names['false']).toEqual([undefined, undefined]);
      } finally {
        spy.mockRestore();
      }
      await expect(
        PostgresKeyStore.open(`${withSchema(newSchema())}&prepared_statements=maybe`),
      ).rejects.toThrow(/prepared_statements must be true or false/);
    });

    it('migrates once when several instances start at once on a new schema', async () => {
      const schema = newSchema();
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => PostgresKeyStore.open(withSchema(schema))),
      );
      try {
        const { rows } = await admin.query(
          `SELECT version FROM "${schema}".keyward_migrations ORDER BY version`,
        );
        // Every version once, numbered without gaps up to the newest: a later version
        // slipped in below an applied one would never run on an existing store.
        const versions = rows.map((r) => r.version as number);
        expect(versions).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
        const row = makeRow();
        await stores[0]!.insert(row, ctx);
        expect(await stores[3]!.findByHash(row.hash)).toMatchObject({ id: row.id });
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('keeps the hash as a 32-byte bytea under a unique index, metadata as jsonb', async () => {
      const schema = newSchema();
      const store = await PostgresKeyStore.open(withSchema(schema));
      try {
        const row = makeRow({ metadata: { plan: 'pro' } });
        await store.insert(row, ctx);
        const { rows } = await admin.query(
          `SELECT hash, metadata->>'plan' AS plan, pg_typeof(created_at)::text AS t FROM "${schema}".keyward_keys`,
        );
        expect(Buffer.compare(rows[0].hash, Buffer.from(row.hash))).toBe(0);
        expect(rows[0]).toMatchObject({ plan: 'pro', t: 'timestamp with time zone' });
        const { rows: idx } = await admin.query(
          `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'keyward_keys_hash'`,
          [schema],
        );
        expect(idx[0].indexdef).toMatch(/UNIQUE INDEX .* \(hash\)/);
      } finally {
        await store.close();
      }
    });

    it('refuses a schema newer than it knows', async () => {
      const schema = newSchema();
      await (await PostgresKeyStore.open(withSchema(schema))).close();
      await admin.query(`INSERT INTO "${schema}".keyward_migrations (version, name) VALUES (99, 'future')`);
      const error = await PostgresKeyStore.open(withSchema(schema)).catch((e) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.message).toMatch(/schema version 99/);
    });

    it('announces committed changes to watchers of other connections, and nothing for a refused one', async () => {
      const schema = newSchema();
      const writer = await PostgresKeyStore.open(withSchema(schema));
      const reader = await PostgresKeyStore.open(withSchema(schema));
      const other = await PostgresKeyStore.open(withSchema(newSchema()));
      try {
        let heard = 0;
        let wake: () => void = () => {};
        await reader.watch(() => {
          heard++;
          wake();
        });
        expect(reader.listening).toBe(true);
        heard = 0; // the call made once listening
        const row = makeRow();
        const notified = new Promise<void>((r) => {
          wake = r;
        });
        await writer.insert(row, ctx);
        await notified;
        expect(heard).toBe(1);
        // A refused change rolls back before any NOTIFY; another schema's changes are not ours.
        await expect(writer.insert(makeRow({ hash: row.hash }), ctx)).rejects.toThrow();
        await other.insert(makeRow(), ctx);
        // A NOTIFY after them, on the same connection order: once it is heard, they would have been.
        const again = new Promise<void>((r) => {
          wake = r;
        });
        await writer.update(row.id, { enabled: false }, { ...ctx, action: 'disable' });
        await again;
        expect(heard).toBe(2);
      } finally {
        await Promise.all([writer.close(), reader.close(), other.close()]);
      }
    });

    it('keeps the change feed in commit order under concurrent writers', async () => {
      const schema = newSchema();
      const a = await PostgresKeyStore.open(withSchema(schema));
      const b = await PostgresKeyStore.open(withSchema(schema));
      try {
        const rows = Array.from({ length: 10 }, () => makeRow());
        for (const row of rows) await a.insert(row, ctx);
        const seen: number[] = [];
        let done = false;
        let last = (await a.changesSince(Number.MAX_SAFE_INTEGER, 1)).latest;
        const follower = (async () => {
          while (!done) {
            const { changes } = await b.changesSince(last, 1000);
            for (const c of changes) seen.push(c.seq);
            if (changes.length > 0) last = changes[changes.length - 1]!.seq;
          }
        })();
        await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            (i % 2 ? a : b).update(rows[i % 10]!.id, { name: `n${i}` }, { ...ctx, action: 'update' }),
          ),
        );
        done = true;
        await follower;
        const { changes } = await b.changesSince(last, 1000);
        seen.push(...changes.map((c) => c.seq));
        const all = (await a.audit({ limit: 1000 })).filter((e) => e.action === 'update').map((e) => e.seq);
        // A follower that only moves forward saw every entry: none committed behind its position.
        expect(seen).toEqual([...all].sort((x, y) => x - y));
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('reports an unreachable server as unavailable, without the password', async () => {
      const port = await freePort();
      const error = await PostgresKeyStore.open(`postgres://keyward:s3cret-pw@127.0.0.1:${port}/x`, {
        connectionTimeoutMs: 2000,
      }).catch((e) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error.code).toBe('store_unavailable');
      expect(error.message).toMatch(/unreachable/);
      expect(error.message).not.toContain('s3cret-pw');
      expect(error.message).not.toContain('\n');
    });

    it('lets a manager hear changes through NOTIFY, long before its next poll', async () => {
      const url = withSchema(newSchema());
      // Polling once a minute and caching for an hour: only the notification can be this quick.
      const server = await KeyManager.open({
        store: await PostgresKeyStore.open(url),
        pepper: PEPPER,
        pollIntervalMs: 60_000,
        cache: { ttlMs: 3_600_000 },
      });
      const cli = await KeyManager.open({
        store: await PostgresKeyStore.open(url),
        pepper: PEPPER,
        pollIntervalMs: 0,
      });
      try {
        const { key, record } = await cli.create({ name: 'x' });
        expect((await server.check(key)).outcome).toBe('valid');
        await cli.revoke(record.id);
        await vi.waitFor(async () => expect((await server.check(key)).outcome).toBe('revoked'), {
          timeout: 1000,
          interval: 10,
        });
      } finally {
        await Promise.all([server.close(), cli.close()]);
      }
    });

    it('is selected by a postgres:// database URL, with KEYWARD_PEPPER required', async () => {
      const url = withSchema(newSchema());
      const missing = await openKeyManager({ database: url, env: {} }).catch((e) => e);
      expect(missing).toBeInstanceOf(KeywardConfigError);
      expect(missing.message).toMatch(/KEYWARD_PEPPER/);
      const manager = await openKeyManager({
        env: { KEYWARD_DATABASE_URL: url, KEYWARD_PEPPER: PEPPER },
        pollIntervalMs: 0,
      });
      try {
        expect(manager.store).toBeInstanceOf(PostgresKeyStore);
        expect(manager.store.location).toMatch(/^postgres:\/\/127\.0\.0\.1:\d+\/test \(schema keyward_test_/);
        const { key } = await manager.create({ name: 'x' });
        expect((await manager.check(key)).outcome).toBe('valid');
      } finally {
        await manager.close();
      }
    });

    it('answers unavailable once closed', async () => {
      const store = await PostgresKeyStore.open(withSchema(newSchema()));
      await store.close();
      await expect(store.get('key_x')).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });
});
