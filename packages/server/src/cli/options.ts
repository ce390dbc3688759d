import type { KeyManager } from '@keyward/keys';
import { KeyStoreError, parseDuration, parseMetadata, parseRateLimit, parseScopes } from '@keyward/keys';
import { InvalidArgumentError, Option } from 'commander';
import { openKeyManager } from '../open.js';
import { type CliIO, cliActor } from './io.js';

/** Wraps a validator so commander reports its message as a usage error (exit 2). */
export function parser<T>(check: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return check(value);
    } catch (error) {
      if (error instanceof KeyStoreError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

export const parseDurationArg = parser(parseDuration);
export const parseRateLimitArg = parser(parseRateLimit);
/**
 * An interval or TTL for `serve`: 1s to 1h. Never 0 (a cache TTL of 0 would mean "cached
 * forever") nor days (timers overflow past about 24.8 days and fire every millisecond).
 */
export const parseIntervalArg = parser((value) => {
  const ms = parseDuration(value);
  if (ms < 1000 || ms > 3_600_000) throw new InvalidArgumentError('must be from 1s to 1h');
  return ms;
});
export const parseScopesArg = parser((v) => parseScopes(v));
export const parseMetadataArg = parser((v) => {
  let value: unknown;
  try {
    value = JSON.parse(v);
  } catch {
    throw new InvalidArgumentError('must be a JSON object');
  }
  return parseMetadata(value);
});

export function parseCount(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

export const dbOption = () =>
  new Option(
    '--db <path>',
    'database file or sqlite:/file: URL (default: $KEYWARD_DATABASE_URL or ./keyward.db)',
  );
export const jsonOption = () => new Option('--json', 'print one JSON object for scripts');

/** Opens the key manager for one command and always closes it (flushing nothing pending). */
export async function withManager<T>(
  io: CliIO,
  db: string | undefined,
  fn: (manager: KeyManager) => Promise<T>,
): Promise<T> {
  const busy = Number(io.env.KEYWARD_BUSY_TIMEOUT_MS ?? 5000);
  const manager = await openKeyManager({
    database: db,
    env: io.env,
    notice: (m) => io.stderr.write(`${m}\n`),
    actor: cliActor(),
    pollIntervalMs: 0,
    flushIntervalMs: 0,
    sqlite: { busyTimeoutMs: Number.isFinite(busy) && busy >= 0 ? busy : 5000 },
  });
  try {
    return await fn(manager);
  } finally {
    await manager.close();
  }
}
