import { StoreNotFoundError, StoreUnavailableError } from '@keyward/keys/store';
import type { ClientBase } from 'pg';
import { lockKey, quoteIdent } from './names.js';
import { ownersMigration } from './owners.js';
import { USAGE_MIGRATION } from './usage.js';

interface Migration {
  readonly version: number;
  readonly name: string;
  /** The DDL, given the schema prefix (`"schema".`) every table name gets. */
  readonly sql: (s: string) => string;
}

/**
 * Versioned migrations, applied in order in one transaction under an advisory lock (so
 * instances starting at once take turns and the later ones find nothing to do), and
 * recorded in `keyward_migrations`. Append new versions; never edit an applied one.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'keys, audit log, meta',
    sql: (s) => `
      CREATE TABLE ${s}keyward_meta (
        name text PRIMARY KEY,
        value text NOT NULL
      );
      CREATE TABLE ${s}keyward_keys (
        id text COLLATE "C" PRIMARY KEY,
        hash bytea NOT NULL,
        display text NOT NULL,
        name text NOT NULL,
        owner text,
        scopes text[] NOT NULL,
        metadata jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz,
        enabled boolean NOT NULL,
        last_used_at timestamptz,
        use_count bigint NOT NULL DEFAULT 0,
        remaining_uses integer CHECK (remaining_uses >= 0),
        rate_limit integer,
        rate_window integer,
        replaces text COLLATE "C",
        replaced_by text COLLATE "C"
      );
      CREATE UNIQUE INDEX keyward_keys_hash ON ${s}keyward_keys (hash);
      CREATE INDEX keyward_keys_owner ON ${s}keyward_keys (owner, id);
      CREATE TABLE ${s}keyward_audit (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        key_id text COLLATE "C",
        changes jsonb NOT NULL
      );
      CREATE INDEX keyward_audit_key ON ${s}keyward_audit (key_id, seq);
    `,
  },
  { version: 2, name: 'owners, previous secrets', sql: ownersMigration },
  {
    version: 3,
    name: 'usage analytics',
    sql: USAGE_MIGRATION,
  },
  {
    version: 4,
    name: 'audit entry detail (where a leaked key was found)',
    // Null for entries without detail (and every entry written before).
    sql: (s) => `ALTER TABLE ${s}keyward_audit ADD COLUMN detail jsonb;`,
  },
  {
    version: 5,
    name: 'idempotency keys of the admin API',
    // status NULL: claimed, the request still running. body never holds a plaintext key.
    sql: (s) => `
      CREATE TABLE ${s}keyward_idempotency (
        key text COLLATE "C" PRIMARY KEY,
        fingerprint text NOT NULL,
        created_at timestamptz NOT NULL,
        status integer,
        body text
      );
      CREATE INDEX keyward_idempotency_created ON ${s}keyward_idempotency (created_at);
    `,
  },
  {
    version: 6,
    name: 'key restrictions',
    // The canonical restrictions (ipAllow, originAllow, routes); null for none.
    sql: (s) => `ALTER TABLE ${s}keyward_keys ADD COLUMN restrictions jsonb;`,
  },
  {
    version: 7,
    name: 'owner restrictions',
    // The owner's canonical restrictions, which all its keys must pass; null for none.
    sql: (s) => `ALTER TABLE ${s}keyward_owners ADD COLUMN restrictions jsonb;`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the schema up to date (creating the schema itself when asked to); refuses a
 * database made by a newer keyward. Resolves with whether this call created keyward's
 * tables (no migration had been applied): under the advisory lock, exactly one of several
 * instances starting on a new schema does.
 */
export async function migrate(
  client: ClientBase,
  schema: string,
  options: { createSchema: boolean; location: string; mustExist?: boolean },
): Promise<boolean> {
  const s = `${quoteIdent(schema)}.`;
  // A schema already up to date is seen without the advisory lock, which waits for
  // another instance migrating.
  const { rows: found } = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
    `${s}keyward_migrations`,
  ]);
  if (found[0]?.t == null) {
    if (options.mustExist) throw new StoreNotFoundError(options.location);
  } else {
    const { rows } = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${s}keyward_migrations`,
    );
    if ((rows[0]?.v ?? 0) === SCHEMA_VERSION) return false;
  }
  await client.query('BEGIN');
  try {
    // Held until COMMIT: a second instance waits here, then sees the migrations done.
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey('migrations', schema)]);
    if (options.createSchema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}keyward_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${s}keyward_migrations`,
    );
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new StoreUnavailableError(
        `${options.location} has schema version ${current}, newer than this keyward understands (${SCHEMA_VERSION}); upgrade keyward`,
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql(s));
      await client.query(`INSERT INTO ${s}keyward_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
    }
    await client.query('COMMIT');
    return current === 0;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
