import type { KeyManager } from '@keyward/keys';
import {
  KeyStoreError,
  parseDuration,
  parseMetadata,
  parseRateLimit,
  parseRestrictions,
  parseScopes,
  type RestrictionKind,
} from '@keyward/keys';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { openKeyManager } from '../open.js';
import { type CliIO, cliActor, truthy } from './io.js';

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
/** A comma-separated restriction list (`--ip-allow`, `--origin-allow`, `--routes`), canonical. */
export const parseRestrictionArg = (kind: RestrictionKind) =>
  parser((v): readonly string[] => parseRestrictions({ [kind]: v })[kind] ?? []);
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

/** The variable of each flag made by {@link envFlag}. */
const FLAG_ENV = new WeakMap<Option, string>();

export const keyPrefixOption = () =>
  new Option('--key-prefix <prefix>', "this deployment's key prefix, e.g. acme (default: kw)").env(
    'KEYWARD_KEY_PREFIX',
  );

/**
 * The key prefix: the flag, else `KEYWARD_KEY_PREFIX` (read from the command's environment,
 * so in-process runs see theirs), else undefined (the format's default, `kw`). An empty or
 * blank value means the default.
 */
export function keyPrefixOf(io: CliIO, flag?: string): string | undefined {
  return (flag ?? io.env.KEYWARD_KEY_PREFIX)?.trim() || undefined;
}

/** `--allow-private-webhooks` (also `KEYWARD_ALLOW_PRIVATE_WEBHOOKS=1`; `=0` keeps it off). */
export const allowPrivateWebhooksOption = (description: string) =>
  envFlag('--allow-private-webhooks', description, 'KEYWARD_ALLOW_PRIVATE_WEBHOOKS');

/**
 * A flag without a value that an environment variable can also turn on: set to `1`,
 * `true` or `yes` (anything but empty, `0`, `false` or `no`). Commander's own `.env()`
 * turns a flag on whenever the variable is defined, even `KEYWARD_YES=0`, so these are
 * read from the command's environment by {@link applyEnvFlags} instead.
 */
export function envFlag(flags: string, description: string, env: string): Option {
  // Declared as the option's variable (so help and checks see it); the value commander
  // derives from it is replaced by applyEnvFlags before the action runs.
  const option = new Option(flags, `${description} (${env}=1 turns it on, =0 off)`).env(env);
  FLAG_ENV.set(option, env);
  return option;
}

/**
 * Before each action: the flags of {@link envFlag} not given on the command line, from
 * `env` (the command's environment): on for a true value, and off otherwise, undoing
 * commander's own reading of the variable (which is on whenever it is defined).
 */
export function applyEnvFlags(program: Command, env: NodeJS.ProcessEnv): void {
  program.hook('preAction', (_program, action) => {
    for (const option of action.options) {
      const name = FLAG_ENV.get(option);
      if (name === undefined) continue;
      const key = option.attributeName();
      const source = action.getOptionValueSource(key);
      if (source === 'cli') continue;
      if (truthy(env[name])) action.setOptionValueWithSource(key, true, 'env');
      else if (source === 'env') action.setOptionValueWithSource(key, undefined, 'default');
    }
  });
}

export const jsonOption = () =>
  envFlag('--json', 'print one JSON object for scripts (errors too, on stderr)', 'KEYWARD_JSON');

/**
 * An option that can also be set through an environment variable (named in `--help`),
 * as every flag of the CLI can: `envOption('--status <state>', '...', 'KEYWARD_STATUS')`.
 */
export function envOption(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(env);
}

/** What a command may do to the store it opens. */
export interface ManagerUse {
  /**
   * Create the store (and its pepper file) when there is none: only `serve`, `keys create`,
   * `keys import` and `init` do. Otherwise a missing store fails with "no key store at
   * PATH" (exit 8) and nothing is written.
   */
  create?: boolean;
}

/**
 * Opens the key manager for one command and always closes it (flushing nothing pending).
 * The store must exist unless `use.create`; opening it takes no write lock when its schema
 * is up to date, so read commands never wait behind another process writing.
 */
export async function withManager<T>(
  io: CliIO,
  db: string | undefined,
  fn: (manager: KeyManager) => Promise<T>,
  use: ManagerUse = {},
): Promise<T> {
  const mustExist = use.create !== true;
  const busy = Number(io.env.KEYWARD_BUSY_TIMEOUT_MS ?? 5000);
  const manager = await openKeyManager({
    database: db,
    env: io.env,
    notice: (m) => io.stderr.write(`${m}\n`),
    actor: cliActor(),
    prefix: keyPrefixOf(io),
    pollIntervalMs: 0,
    flushIntervalMs: 0,
    sqlite: { busyTimeoutMs: Number.isFinite(busy) && busy >= 0 ? busy : 5000, mustExist },
    postgres: { mustExist },
  });
  try {
    return await fn(manager);
  } finally {
    await manager.close();
  }
}
