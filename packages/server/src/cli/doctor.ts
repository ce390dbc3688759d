import { type Stats, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { KeyStoreError, resolvePepper } from '@keyward/keys';
import { filePermissionProblem } from '@keyward/keys/store';
import type { Command } from 'commander';
import { type DatabaseTarget, databaseLabel, resolveDatabase } from '../open.js';
import { redisLabel } from '../serve/limits.js';
import { ExitCode, exitCodes } from './exit.js';
import type { CliIO } from './io.js';
import { dbOption, envOption, jsonOption, parseDurationArg, withManager } from './options.js';
import { jsonLine, printable } from './render.js';
import { styleFor } from './style.js';

/** One finding of `keyward doctor`. */
export interface Check {
  readonly name: string;
  /** `ok`, `fail`, or `skip` (not configured, or not checkable after an earlier failure). */
  readonly status: 'ok' | 'fail' | 'skip';
  readonly detail: string;
  /** What to do about a failure. */
  readonly fix?: string;
  /** How long the round trip took, for the network checks. */
  readonly latencyMs?: number;
}

const ok = (name: string, detail: string, latencyMs?: number): Check => ({
  name,
  status: 'ok',
  detail,
  ...(latencyMs === undefined ? {} : { latencyMs }),
});
const failed = (name: string, detail: string, fix: string): Check => ({ name, status: 'fail', detail, fix });
const skipped = (name: string, detail: string): Check => ({ name, status: 'skip', detail });

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const ms = (start: bigint) => Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100;

/** The mode and owner of a SQLite store's files: the database, -wal and -shm (group or others must not write). */
function storeFiles(path: string): Check {
  const problems: string[] = [];
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let stat: Stats;
    try {
      stat = statSync(file);
    } catch {
      continue;
    }
    const problem = filePermissionProblem(stat, 0o022);
    if (problem) problems.push(`${file} ${problem}`);
  }
  if (problems.length === 0) return ok('store files', `${path}: owned by this user, not writable by others`);
  return failed(
    'store files',
    problems.join('; '),
    `chmod 600 ${path}*  (and make sure this user owns them)`,
  );
}

/** Applied schema version of a SQLite file, read only. */
async function sqliteVersion(path: string): Promise<number> {
  const { default: open } = await import('better-sqlite3');
  const db = new open(path, { readonly: true, fileMustExist: true });
  try {
    const table = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'keyward_migrations'")
      .get();
    if (table === undefined) return 0;
    return (
      (db.prepare('SELECT max(version) AS v FROM keyward_migrations').get() as { v: number | null }).v ?? 0
    );
  } finally {
    db.close();
  }
}

function migrations(applied: number, expected: number, where: string): Check {
  if (applied === expected) return ok('migrations', `schema version ${applied}, as this keyward expects`);
  if (applied === 0) {
    return failed('migrations', `no key store at ${where}`, `create it: npx keyward init --db ${where}`);
  }
  if (applied > expected) {
    return failed(
      'migrations',
      `schema version ${applied} is newer than this keyward (${expected})`,
      'upgrade keyward on this machine',
    );
  }
  return failed(
    'migrations',
    `schema version ${applied}, this keyward expects ${expected}`,
    'start npx keyward serve (or any command that writes) once to migrate',
  );
}

/** PostgreSQL: reachable, its latency, keyward's schema version and the clock skew against this machine. */
async function postgresChecks(
  target: Extract<DatabaseTarget, { kind: 'postgres' }>,
  maxSkewMs: number,
): Promise<Check[]> {
  const { default: pg } = await import('pg');
  const { SCHEMA_VERSION } = await import('@keyward/postgres');
  const url = new URL(target.url);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  url.searchParams.delete('prepared_statements');
  const label = databaseLabel(target);
  const client = new pg.Client({
    connectionString: url.toString(),
    connectionTimeoutMillis: 3000,
    query_timeout: 3000,
  });
  client.on('error', () => {});
  const checks: Check[] = [];
  try {
    let start = process.hrtime.bigint();
    await client.connect();
    await client.query('SELECT 1');
    start = process.hrtime.bigint();
    const before = Date.now();
    const { rows } = await client.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    const after = Date.now();
    const latency = ms(start);
    checks.push(ok('postgres', `${label} answers in ${latency} ms`, latency));
    const skew = Math.round(rows[0]!.now.getTime() - (before + after) / 2);
    const skewText = `${skew < 0 ? '-' : '+'}${Math.abs(skew)} ms (PostgreSQL minus this machine)`;
    checks.push(
      Math.abs(skew) <= maxSkewMs
        ? ok('clock skew', skewText)
        : failed(
            'clock skew',
            `${skewText}, more than ${maxSkewMs} ms: expiry and last-used times disagree between machines`,
            'synchronise the clocks (NTP: timedatectl set-ntp true, or chrony)',
          ),
    );
    const s =
      schema ?? (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
    const quoted = `"${s.replaceAll('"', '""')}"`;
    const found = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
      `${quoted}.keyward_migrations`,
    ]);
    let applied = 0;
    if (found.rows[0]?.t != null) {
      const v = await client.query<{ v: number | null }>(
        `SELECT max(version) AS v FROM ${quoted}.keyward_migrations`,
      );
      applied = v.rows[0]?.v ?? 0;
    }
    checks.push(migrations(applied, SCHEMA_VERSION, `${label} (schema ${s})`));
  } catch (error) {
    checks.push(
      failed(
        'postgres',
        `${label} is unreachable (${message(error)})`,
        'start PostgreSQL, or check the host, port, user and password in KEYWARD_DATABASE_URL',
      ),
    );
  } finally {
    await client.end().catch(() => {});
  }
  return checks;
}

/** Redis: reachable and its latency (a PING), when rate limits are shared through it. */
async function redisCheck(url: string | undefined): Promise<Check> {
  if (!url) return skipped('redis', 'not configured (KEYWARD_REDIS_URL): rate limits count in each process');
  const label = redisLabel(url);
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    commandTimeout: 3000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const start = process.hrtime.bigint();
    await client.ping();
    const latency = ms(start);
    return ok('redis', `${label} answers PING in ${latency} ms`, latency);
  } catch (error) {
    return failed(
      'redis',
      `${label} is unreachable (${message(error)})`,
      'start Redis, or fix KEYWARD_REDIS_URL (or unset it to count rate limits per process)',
    );
  } finally {
    client.disconnect();
  }
}

/** The pepper: present, private (a file only its owner reads), and the one the store was made with. */
async function pepperChecks(io: CliIO, target: DatabaseTarget, db: string | undefined): Promise<Check[]> {
  const checks: Check[] = [];
  const fromEnv = Boolean(io.env.KEYWARD_PEPPER);
  if (target.kind === 'postgres' && !fromEnv) {
    return [
      failed(
        'pepper',
        'KEYWARD_PEPPER is not set (a PostgreSQL store has no pepper file)',
        'export KEYWARD_PEPPER=... (the same value on every instance; a new store: npx keyward pepper generate)',
      ),
    ];
  }
  try {
    const pepper = resolvePepper({
      env: io.env,
      databasePath: target.kind === 'sqlite' ? resolve(target.path) : undefined,
      createFile: false,
      notice: () => {},
    });
    checks.push(
      ok(
        'pepper',
        fromEnv ? 'from KEYWARD_PEPPER' : `file ${pepper.source}: owned by this user, mode 0600 or stricter`,
      ),
    );
  } catch (error) {
    const text = message(error);
    const fix = /chmod|chown/.test(text)
      ? (/run: (.*)$/.exec(text)?.[1] ?? 'make the pepper file private: chmod 600 FILE')
      : 'restore the pepper file from your backup, or set KEYWARD_PEPPER';
    return [failed('pepper', text, fix)];
  }
  try {
    await withManager({ ...io, stderr: { write: () => true } }, db, async () => undefined);
    checks.push(ok('pepper matches', 'the store was created with this pepper'));
  } catch (error) {
    checks.push(
      failed(
        'pepper matches',
        message(error),
        error instanceof KeyStoreError && error.code === 'pepper_mismatch'
          ? 'use the pepper this store was created with (KEYWARD_PEPPER or the .pepper file beside the database)'
          : 'see the message above',
      ),
    );
  }
  return checks;
}

/** Every check, in order; later ones are skipped when what they need failed. */
export async function runChecks(io: CliIO, db: string | undefined, maxSkewMs: number): Promise<Check[]> {
  const checks: Check[] = [];
  let target: DatabaseTarget;
  try {
    target = resolveDatabase(db, io.env);
  } catch (error) {
    return [failed('database', message(error), 'give --db PATH or KEYWARD_DATABASE_URL')];
  }
  let storeOk = true;
  if (target.kind === 'sqlite') {
    const path = target.path;
    let exists = true;
    try {
      statSync(path);
    } catch {
      exists = false;
    }
    if (!exists) {
      storeOk = false;
      checks.push(failed('database', `no key store at ${path}`, `create it: npx keyward init --db ${path}`));
    } else {
      checks.push(ok('database', `SQLite file ${path}`));
      const files = storeFiles(path);
      checks.push(files);
      try {
        const { SCHEMA_VERSION } = await import('@keyward/sqlite');
        const m = migrations(await sqliteVersion(path), SCHEMA_VERSION, path);
        checks.push(m);
        storeOk = files.status === 'ok' && m.status === 'ok';
      } catch (error) {
        storeOk = false;
        checks.push(
          failed(
            'migrations',
            `${path} is not readable as a key store (${message(error)})`,
            'point --db at a keyward database',
          ),
        );
      }
    }
    checks.push(skipped('postgres', 'not used (the store is a SQLite file)'));
  } else {
    const pg = await postgresChecks(target, maxSkewMs);
    checks.push(...pg);
    storeOk = pg.every((c) => c.name === 'clock skew' || c.status === 'ok');
  }
  if (storeOk) checks.push(...(await pepperChecks(io, target, db)));
  else checks.push(skipped('pepper', 'not checked: the store must be usable first'));
  checks.push(await redisCheck(io.env.KEYWARD_REDIS_URL?.trim() || undefined));
  return checks;
}

/** `keyward doctor`. */
export function registerDoctor(program: Command, io: CliIO): void {
  program
    .command('doctor')
    .description(
      'check the setup: pepper (present, private, matching), store files and migrations, PostgreSQL and Redis (reachable, latency), clock skew; prints what to fix; exit 0 only when healthy, 1 otherwise',
    )
    .addOption(dbOption())
    .addOption(
      envOption(
        '--max-clock-skew <duration>',
        'largest tolerated clock difference with PostgreSQL (default 1s)',
        'KEYWARD_MAX_CLOCK_SKEW',
      )
        .argParser(parseDurationArg)
        .default(1000, '1s'),
    )
    .addOption(jsonOption())
    .action(async (flags: { db?: string; json?: boolean; maxClockSkew: number }) => {
      const checks = await runChecks(io, flags.db, flags.maxClockSkew);
      const healthy = checks.every((c) => c.status !== 'fail');
      if (flags.json) {
        io.stdout.write(jsonLine({ healthy, checks }));
      } else {
        const style = styleFor(io.stdout, io.env);
        const mark = { ok: style.green('ok  '), fail: style.red('FAIL'), skip: style.dim('skip') };
        for (const c of checks) {
          io.stdout.write(`${mark[c.status]}  ${c.name}: ${printable(c.detail)}\n`);
          if (c.fix) io.stdout.write(`      fix: ${printable(c.fix)}\n`);
        }
        io.stdout.write(
          healthy
            ? `${style.green('healthy')}\n`
            : `${style.red('not healthy')}: fix the lines marked FAIL\n`,
        );
      }
      if (!healthy) throw new ExitCode(exitCodes.error);
    });
}
