import type Database from 'better-sqlite3';
import { KEY_COLUMNS } from './rows.js';

type Statement = Database.Statement;
const NAMES = [
  'insertIgnore',
  'audit',
  'auditMany',
  'get',
  'byHash',
  'list',
  'listOwner',
  'update',
  'delete',
  'consume',
  'usage',
  'auditAll',
  'auditKey',
  'changes',
  'latest',
  'getMeta',
  'setMeta',
  'replaceMeta',
] as const;

const PLACES = Array.from({ length: KEY_COLUMNS.split(', ').length + 1 }, () => '?').join(', ');

/** Inserts a key (`insertValues`) unless its hash is taken. Also run by the writer worker. */
export const INSERT_IGNORE = `INSERT INTO keyward_keys (hash, tag, ${KEY_COLUMNS}) VALUES (?, ${PLACES})
  ON CONFLICT (hash) DO NOTHING`;

/** Audit entries from a JSON array of `[key id, changes]`, in array order: at, actor, action, JSON. */
export const AUDIT_MANY = `INSERT INTO keyward_audit (at, actor, action, key_id, changes)
  SELECT ?, ?, ?, value ->> 0, value ->> 1 FROM json_each(?) ORDER BY key`;

/** Adds a usage delta to a key: count, last use (ms), id. Also run by the writer worker. */
export const USAGE_UPDATE = `UPDATE keyward_keys SET use_count = use_count + ?,
  last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?`;

/**
 * Takes uses (credits) of a key with enough left: cost, last use (ms), id, cost; returns the uses left. Also
 * run by the writer worker.
 */
export const CONSUME = `UPDATE keyward_keys SET remaining_uses = remaining_uses - ?,
  use_count = use_count + 1, last_used_at = max(coalesce(last_used_at, 0), ?)
  WHERE id = ? AND remaining_uses > 0 AND remaining_uses >= ? RETURNING remaining_uses`;

/** The store's prepared statements, by name. */
export type Statements = Record<(typeof NAMES)[number], Statement>;

/** Prepares every statement once, at open. */
export function statements(db: Database.Database): Statements {
  return {
    insertIgnore: db.prepare(INSERT_IGNORE),
    audit: db.prepare(
      'INSERT INTO keyward_audit (at, actor, action, key_id, changes) VALUES (?, ?, ?, ?, ?)',
    ),
    auditMany: db.prepare(AUDIT_MANY),
    get: db.prepare(`SELECT ${KEY_COLUMNS} FROM keyward_keys WHERE id = ?`),
    // A key by its secret, else by its previous secret (rotated in place), with until when:
    // the hash twice.
    byHash: db
      .prepare(`SELECT ${KEY_COLUMNS}, NULL FROM keyward_keys WHERE hash = ?
        UNION ALL SELECT ${KEY_COLUMNS}, prev_until FROM keyward_keys WHERE prev_hash = ? LIMIT 1`)
      .raw(),
    list: db.prepare(`SELECT ${KEY_COLUMNS} FROM keyward_keys WHERE id > ? ORDER BY id LIMIT ?`),
    listOwner: db.prepare(
      `SELECT ${KEY_COLUMNS} FROM keyward_keys WHERE owner = ? AND id > ? ORDER BY id LIMIT ?`,
    ),
    update: db.prepare(`UPDATE keyward_keys SET name = @name, owner = @owner, scopes = @scopes,
      metadata = @metadata, expires_at = @expires_at, revoked_at = @revoked_at, enabled = @enabled,
      remaining_uses = @remaining_uses, rate_limit = @rate_limit, rate_window = @rate_window,
      replaced_by = @replaced_by WHERE id = @id`),
    delete: db.prepare('DELETE FROM keyward_keys WHERE id = ?'),
    consume: db.prepare(CONSUME).pluck(),
    usage: db.prepare(USAGE_UPDATE),
    auditAll: db.prepare('SELECT * FROM keyward_audit WHERE seq < ? ORDER BY seq DESC LIMIT ?'),
    auditKey: db.prepare(
      'SELECT * FROM keyward_audit WHERE key_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    changes: db.prepare('SELECT seq, action, key_id FROM keyward_audit WHERE seq > ? ORDER BY seq LIMIT ?'),
    latest: db.prepare('SELECT seq FROM keyward_audit ORDER BY seq DESC LIMIT 1').pluck(),
    getMeta: db.prepare('SELECT value FROM keyward_meta WHERE name = ?').pluck(),
    setMeta: db.prepare('INSERT INTO keyward_meta (name, value) VALUES (?, ?)'),
    replaceMeta: db.prepare('UPDATE keyward_meta SET value = ? WHERE name = ? AND value = ?'),
  };
}
