import { StoreUnavailableError } from '@keyward/keys/store';
import type Database from 'better-sqlite3';
import { OWNERS_MIGRATION } from './owners.js';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Versioned migrations, applied in order inside one write transaction and recorded in
 * `keyward_migrations`, so running them again (or from two processes) is harmless.
 * Append new versions; never edit an applied one.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'keys, audit log, meta',
    sql: `
      CREATE TABLE keyward_meta (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
      CREATE TABLE keyward_keys (
        id TEXT PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        display TEXT NOT NULL,
        name TEXT NOT NULL,
        owner TEXT,
        scopes TEXT NOT NULL,
        metadata TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        enabled INTEGER NOT NULL,
        last_used_at INTEGER,
        use_count INTEGER NOT NULL DEFAULT 0,
        remaining_uses INTEGER,
        rate_limit INTEGER,
        rate_window INTEGER,
        replaces TEXT,
        replaced_by TEXT
      ) STRICT;
      CREATE INDEX keyward_keys_owner ON keyward_keys (owner, id) WHERE owner IS NOT NULL;
      CREATE TABLE keyward_audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        key_id TEXT,
        changes TEXT NOT NULL
      ) STRICT;
      CREATE INDEX keyward_audit_key ON keyward_audit (key_id, seq);
    `,
  },
  {
    version: 2,
    name: 'key tags for the membership filter',
    // Null for keys stored before: the filter then stays off (it cannot know their tags).
    sql: 'ALTER TABLE keyward_keys ADD COLUMN tag INTEGER;',
  },
  { version: 3, name: 'owners, previous secrets', sql: OWNERS_MIGRATION },
  {
    version: 4,
    name: 'usage analytics',
    // Clustered by scope: a series is one contiguous range, and ranking reads a tier in
    // scope order (grouping without a sort). Indexed by period for retention.
    // tier: 0 minute, 1 hour, 2 day; bucket: the period's start in seconds since 1970.
    sql: `
      CREATE TABLE keyward_usage (
        tier INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        scope TEXT NOT NULL,
        valid INTEGER NOT NULL DEFAULT 0,
        expired INTEGER NOT NULL DEFAULT 0,
        revoked INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        insufficient_scope INTEGER NOT NULL DEFAULT 0,
        rate_limited INTEGER NOT NULL DEFAULT 0,
        usage_exceeded INTEGER NOT NULL DEFAULT 0,
        restricted INTEGER NOT NULL DEFAULT 0,
        missing INTEGER NOT NULL DEFAULT 0,
        duplicate INTEGER NOT NULL DEFAULT 0,
        invalid INTEGER NOT NULL DEFAULT 0,
        unavailable INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tier, scope, bucket)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX keyward_usage_period ON keyward_usage (tier, bucket);
    `,
  },
  {
    version: 5,
    name: 'audit entry detail (where a leaked key was found)',
    // JSON text; null for entries without detail (and every entry written before).
    sql: 'ALTER TABLE keyward_audit ADD COLUMN detail TEXT;',
  },
  {
    version: 6,
    name: 'idempotency keys of the admin API',
    // status NULL: claimed, the request still running. body never holds a plaintext key.
    sql: `
      CREATE TABLE keyward_idempotency (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        status INTEGER,
        body TEXT
      ) STRICT;
      CREATE INDEX keyward_idempotency_created ON keyward_idempotency (created_at);
    `,
  },
  {
    version: 7,
    name: 'key restrictions',
    // JSON of the canonical restrictions (ipAllow, originAllow, routes); null for none.
    sql: 'ALTER TABLE keyward_keys ADD COLUMN restrictions TEXT;',
  },
  {
    version: 8,
    name: 'owner restrictions',
    // JSON of the owner's canonical restrictions, which all its keys must pass; null for none.
    sql: 'ALTER TABLE keyward_owners ADD COLUMN restrictions TEXT;',
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Whether the database holds keyward's tables (a read: no lock is taken). */
export function hasSchema(db: Database.Database): boolean {
  return (
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'keyward_migrations'").get() !==
    undefined
  );
}

/** The applied schema version, read without a write transaction; 0 for no schema. */
function appliedVersion(db: Database.Database): number {
  if (!hasSchema(db)) return 0;
  const row = db.prepare('SELECT max(version) AS v FROM keyward_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Brings the schema up to date; refuses a database made by a newer keyward. Returns
 * whether this call created the schema (no migration had been applied before). A schema
 * already up to date is seen with a read (WAL: never waits for a writer); the write
 * transaction, which waits for another process's write lock, is taken only to migrate.
 */
export function migrate(db: Database.Database, location: string): boolean {
  if (appliedVersion(db) === SCHEMA_VERSION) return false;
  return db
    .transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS keyward_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`);
      const row = db.prepare('SELECT max(version) AS v FROM keyward_migrations').get() as {
        v: number | null;
      };
      const current = row.v ?? 0;
      if (current > SCHEMA_VERSION) {
        throw new StoreUnavailableError(
          `${location} has schema version ${current}, newer than this keyward understands (${SCHEMA_VERSION}); upgrade keyward`,
        );
      }
      const record = db.prepare(
        'INSERT INTO keyward_migrations (version, name, applied_at) VALUES (?, ?, ?)',
      );
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        db.exec(m.sql);
        record.run(m.version, m.name, Date.now());
      }
      return current === 0;
    })
    .immediate();
}
