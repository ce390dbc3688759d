import { KeyStoreError, StoreUnavailableError } from '@keyward/keys/store';

// Node socket errors and the messages pg and pg-pool give connection trouble.
const NETWORK = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/;
const CONNECTION =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|query read timeout|after calling end on the pool/i;
// SQLSTATE classes meaning "the server cannot serve us now": connection exception,
// insufficient resources, operator intervention (shutdown, restart).
const UNAVAILABLE_STATE = /^(08|53|57)/;

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Turns `pg` failures into `StoreUnavailableError`s with a one-line reason. Only the
 * server's message is kept, never its `detail` (which can quote row values); the cause is
 * a fresh error carrying the same, so logging it cannot leak more either.
 */
export function translatePgError(error: unknown, location: string): unknown {
  if (error instanceof KeyStoreError || !(error instanceof Error)) return error;
  const raw = (error as Error & { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : '';
  const message = oneLine(error.message);
  const cause = new Error(code ? `${code}: ${message}` : message);
  if (NETWORK.test(code) || CONNECTION.test(message) || UNAVAILABLE_STATE.test(code)) {
    return new StoreUnavailableError(`PostgreSQL at ${location} is unreachable (${message})`, { cause });
  }
  if (code !== '') {
    return new StoreUnavailableError(`PostgreSQL at ${location} failed (${code}: ${message})`, { cause });
  }
  return error;
}
