import { createHash } from 'node:crypto';
import { KeywardConfigError } from 'keyward';

/** The channel every change is announced on; the payload is the schema that changed. */
export const CHANGES_CHANNEL = 'keyward_changes';

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Schema names are restricted to plain identifiers: they end up in SQL text, quoted. */
export function checkSchemaName(name: string): string {
  if (!SCHEMA_NAME.test(name)) {
    throw new KeywardConfigError(
      `invalid PostgreSQL schema name ${JSON.stringify(name)} (letters, digits and _, at most 63)`,
    );
  }
  return name;
}

/** A quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A 64-bit advisory lock id per purpose and schema, so separate keyward schemas in one
 * database never wait for each other. Passed as text: it may exceed 2^53.
 */
export function lockKey(purpose: 'migrations' | 'audit', schema: string): string {
  return createHash('sha256').update(`keyward:${purpose}:${schema}`).digest().readBigInt64BE(0).toString();
}
