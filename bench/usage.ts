/**
 * Usage analytics figures (issue 17), a script apart from `npm run bench`:
 *
 *   npm run bench:usage [-- --only sqlite|postgres|http|throughput] [--active 50000]
 *     [--seconds 3] [--json]
 *
 * 1. Seeds 30 days of daily usage for a population of 1,000,000 keys into a SQLite file and
 *    a PostgreSQL schema (the same deterministic data in both): 1,000 "hot" keys counted
 *    every day, and on each day a different 5% of the others (`--active`, 50,000 a day),
 *    with owners (10,000) and the deployment rolled up the way the flush writes them.
 * 2. Measures through `KeyManager`, as the admin API and the CLI call it: one key's 30-day
 *    daily series (p95 of 200 keys, hot and occasional), the 1,000 hot keys' daily series
 *    in one `usageMany` call (time and JSON size), `usageTop` over 7 days (keys by valid,
 *    keys by refusals, owners). Targets: < 20 ms p95, < 100 ms and < 1 MiB, < 200 ms.
 * 3. Storage per key-day: the table and index bytes of the seeded rows over their number.
 * 4. Throughput with analytics on against off (target >= 0.98), for a cached valid key and
 *    for a flood of made-up keys: over HTTP, two `keyward serve` processes on SQLite (one
 *    with `--no-analytics`) driven by wrk in interleaved rounds, as `npm run bench` measures
 *    servers; and, stricter, the guard alone in this process (where the observer's two
 *    clock reads and counter are a visible share of a ~1 µs authentication).
 *
 * The key table is not seeded: no analytics query reads it (owners are recorded with each
 * row at verification time), so its size cannot change these figures.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KeyManager, MemoryKeyStore } from '@keyward/keys';
import { PostgresKeyStore } from '@keyward/postgres';
import { SqliteKeyStore } from '@keyward/sqlite';
import { apiKeyHeader, createGuard } from 'keyward';
import pg from 'pg';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '3' },
    active: { type: 'string', default: '50000' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'npm run bench:usage [-- --only sqlite|postgres|http|throughput] [--active N] [--seconds S] [--json]\n',
  );
  process.exit(0);
}

const KEYS = 1_000_000;
const HOT = 1000;
const OWNERS = 10_000;
const DAYS = 30;
const ACTIVE = Number(args.active);
/** Every 1/STEP of the other keys is counted on a day: ACTIVE of them. */
const STEP = Math.max(1, Math.round((KEYS - HOT) / ACTIVE));
const DAY = 86_400_000;
/** The last seeded day starts here; queries run "now" at its end. */
const END = Date.UTC(2026, 11, 6);
const NOW = END + DAY - 1;
const FIRST = END - (DAYS - 1) * DAY;
const PEPPER = 'bench-usage-pepper-0123456789abcdefghijklmnopqrstuvwxyz';
const PG_URL = process.env.KEYWARD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const log = (line: string) => process.stderr.write(`${line}\n`);
const keyId = (k: number) => `key_${String(k).padStart(18, '0')}`;

interface Figure {
  readonly store: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: string;
  readonly pass?: boolean;
}
const figures: Figure[] = [];
function report(store: string, name: string, value: number, unit: string, limit?: number, atLeast = false) {
  const pass = limit === undefined ? undefined : atLeast ? value >= limit : value < limit;
  const target =
    limit === undefined ? undefined : `${atLeast ? '>=' : '<'} ${limit}${unit === 'ratio' ? '' : ` ${unit}`}`;
  figures.push({ store, name, value, unit, target, pass });
  const verdict = pass === undefined ? '' : pass ? '  pass' : '  MISS';
  log(
    `  ${store.padEnd(10)} ${name.padEnd(46)} ${value.toFixed(unit === 'ratio' ? 3 : 1).padStart(10)} ${unit}${target ? `  (${target})` : ''}${verdict}`,
  );
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

/** Which keys are counted on day `d` (0-based): the hot ones and a rotating STEP-th of the rest. */
const SQL_ACTIVE = (k: string, d: string) => `(${k} < ${HOT} OR (${k} + ${d} * 7919) % ${STEP} = 0)`;
const SQL_VALID = (k: string, d: string) => `(1 + (${k} * 31 + ${d} * 17) % 500)`;
const SQL_LIMITED = (k: string, d: string) => `((${k} + ${d}) % 7)`;

async function seedSqlite(path: string): Promise<number> {
  const store = await SqliteKeyStore.open(path, { synchronous: 'normal' });
  await store.close();
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const started = performance.now();
  // Generated inside SQLite: keys 0..KEYS-1 per day, the active ones only.
  db.exec('BEGIN');
  for (let d = 0; d < DAYS; d++) {
    const bucket = (FIRST + d * DAY) / 1000;
    db.exec(`WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < ${KEYS - 1})
      INSERT INTO keyward_usage (tier, bucket, scope, valid, rate_limited)
      SELECT 2, ${bucket}, 'k:key_' || printf('%018d', n), ${SQL_VALID('n', String(d))}, ${SQL_LIMITED('n', String(d))}
      FROM k WHERE ${SQL_ACTIVE('n', String(d))}`);
  }
  db.exec(`INSERT INTO keyward_usage (tier, bucket, scope, valid, rate_limited)
    SELECT 2, bucket, 'o:owner' || (CAST(substr(scope, 7) AS INTEGER) % ${OWNERS}), sum(valid), sum(rate_limited)
    FROM keyward_usage WHERE tier = 2 AND scope >= 'k:' AND scope < 'k;' GROUP BY 1, 2, 3`);
  db.exec(`INSERT INTO keyward_usage (tier, bucket, scope, valid, rate_limited)
    SELECT 2, bucket, '*', sum(valid), sum(rate_limited) FROM keyward_usage
    WHERE tier = 2 AND scope >= 'k:' AND scope < 'k;' GROUP BY bucket`);
  db.exec('COMMIT');
  db.exec('ANALYZE');
  const rows = db
    .prepare("SELECT count(*) FROM keyward_usage WHERE scope >= 'k:' AND scope < 'k;'")
    .pluck()
    .get() as number;
  log(
    `  sqlite     seeded ${rows.toLocaleString('en')} key-days in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  // Storage: pages of the table and its index, as SQLite's dbstat reports them.
  let bytes: number;
  try {
    bytes = db
      .prepare("SELECT sum(pgsize) FROM dbstat WHERE name IN ('keyward_usage', 'keyward_usage_period')")
      .pluck()
      .get() as number;
  } catch {
    bytes =
      (db.pragma('page_count', { simple: true }) as number) *
      (db.pragma('page_size', { simple: true }) as number);
  }
  const all = db.prepare('SELECT count(*) FROM keyward_usage').pluck().get() as number;
  db.close();
  report('sqlite', 'storage per key-day (row + period index)', bytes / all, 'bytes');
  return rows;
}

async function seedPostgres(url: string, schema: string): Promise<number> {
  const store = await PostgresKeyStore.open(url);
  await store.close();
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const t = `"${schema}".keyward_usage`;
  const started = performance.now();
  await client.query('SET synchronous_commit = off');
  // Loaded without its period index, which is built once at the end (as a restore would).
  await client.query(`DROP INDEX "${schema}".keyward_usage_period`);
  for (let d = 0; d < DAYS; d++) {
    await client.query(
      `INSERT INTO ${t} (tier, bucket, scope, valid, rate_limited)
       SELECT 2, to_timestamp(${(FIRST + d * DAY) / 1000}), 'k:key_' || lpad(n::text, 18, '0'),
         ${SQL_VALID('n', String(d))}, ${SQL_LIMITED('n', String(d))}
       FROM generate_series(0, ${KEYS - 1}) AS n WHERE ${SQL_ACTIVE('n', String(d))}`,
    );
  }
  await client.query(`INSERT INTO ${t} (tier, bucket, scope, valid, rate_limited)
    SELECT 2, bucket, 'o:owner' || (substr(scope, 7)::bigint % ${OWNERS}), sum(valid), sum(rate_limited)
    FROM ${t} WHERE tier = 2 AND scope >= 'k:' AND scope < 'k;' GROUP BY 1, 2, 3`);
  await client.query(`INSERT INTO ${t} (tier, bucket, scope, valid, rate_limited)
    SELECT 2, bucket, '*', sum(valid), sum(rate_limited) FROM ${t}
    WHERE tier = 2 AND scope >= 'k:' AND scope < 'k;' GROUP BY bucket`);
  await client.query(`CREATE INDEX keyward_usage_period ON ${t} (tier, bucket)`);
  await client.query(`VACUUM ANALYZE ${t}`);
  const { rows } = await client.query<{ n: string; all: string; bytes: string }>(
    `SELECT count(*) FILTER (WHERE scope >= 'k:' AND scope < 'k;') AS n, count(*) AS all,
       pg_total_relation_size('${t}') AS bytes FROM ${t}`,
  );
  await client.end();
  const n = Number(rows[0]!.n);
  log(
    `  postgres   seeded ${n.toLocaleString('en')} key-days in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  report(
    'postgres',
    'storage per key-day (row + both indexes)',
    Number(rows[0]!.bytes) / Number(rows[0]!.all),
    'bytes',
  );
  return n;
}

/** Times `fn` `runs` times after `warm` unmeasured runs; answers the durations in ms. */
async function timed(runs: number, warm: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warm; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

async function measureQueries(label: string, manager: KeyManager): Promise<void> {
  const since = FIRST;
  const until = END + DAY;
  // One key's series: half hot keys, half from the whole population.
  const picks = Array.from({ length: 200 }, (_, i) =>
    keyId(i % 2 === 0 ? (i * 37) % HOT : HOT + ((i * 104_729) % (KEYS - HOT))),
  );
  const one = await timed(200, 20, (i) =>
    manager.usage({ key: picks[i % picks.length]!, since, until, granularity: 'day' }),
  );
  const check = await manager.usage({ key: keyId(1), since, until, granularity: 'day' });
  if (check.buckets.length !== DAYS || !(check.totals.valid! > 0))
    throw new Error(`${label}: seeded series not found`);
  report(label, "one key's 30-day daily series, p95", quantile(one, 0.95), 'ms', 20);
  const hot = Array.from({ length: HOT }, (_, k) => keyId(k));
  const many = await timed(20, 3, () => manager.usageMany({ keys: hot, since, until, granularity: 'day' }));
  const set = await manager.usageMany({ keys: hot, since, until, granularity: 'day' });
  const size = Buffer.byteLength(JSON.stringify(set));
  report(label, "1,000 keys' daily series in one call, p95", quantile(many, 0.95), 'ms', 100);
  report(label, "1,000 keys' daily series, JSON size", size / 1024, 'KiB', 1024);
  for (const [name, query] of [
    ['usage top over 7 days (keys by valid), p95', { by: 'valid', group: 'key' }],
    ['usage top over 7 days (keys by refused), p95', { by: 'refused', group: 'key' }],
    ['usage top over 7 days (owners), p95', { by: 'valid', group: 'owner' }],
  ] as const) {
    const top = await timed(10, 2, () =>
      manager.usageTop({ since: NOW - 7 * DAY, until: NOW, limit: 20, ...query }),
    );
    report(label, name, quantile(top, 0.95), 'ms', 200);
  }
}

async function sqliteFigures(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-usage-'));
  try {
    const path = join(dir, 'usage.db');
    await seedSqlite(path);
    const manager = await KeyManager.open({
      store: await SqliteKeyStore.open(path),
      pepper: PEPPER,
      now: () => NOW,
      pollIntervalMs: 0,
      flushIntervalMs: 0,
    });
    await measureQueries('sqlite', manager);
    await manager.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresFigures(): Promise<void> {
  const schema = `keyward_bench_usage_${process.pid}`;
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await seedPostgres(url.toString(), schema);
    const manager = await KeyManager.open({
      store: await PostgresKeyStore.open(url.toString()),
      pepper: PEPPER,
      now: () => NOW,
      pollIntervalMs: 0,
      flushIntervalMs: 0,
    });
    await measureQueries('postgres', manager);
    await manager.close();
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

/** Authentications a second through one guard, synchronous (cached key, refused flood). */
function rate(authenticate: () => unknown, ms: number): number {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) authenticate();
    n += 1000;
  }
  return n / (ms / 1000);
}

async function throughput(): Promise<void> {
  const manager = await KeyManager.open({
    store: new MemoryKeyStore(),
    pepper: PEPPER,
    pollIntervalMs: 0,
    flushIntervalMs: 0,
  });
  const { key } = await manager.create({ name: 'bench', owner: 'acme' });
  const schemes = apiKeyHeader({ name: 'X-API-Key' });
  const verify = manager.verifier();
  const off = createGuard({ schemes, verify });
  const on = createGuard({ schemes, verify, observe: manager.analytics.observe });
  // A made-up key of the right shape fails its checksum: the flood's path, no lookup.
  const madeUp = Array.from(
    { length: 4096 },
    () => `kw_${randomBytes(30).toString('base64url').replace(/[-_]/g, 'A').slice(0, 38)}`,
  );
  const valid = { header: () => key, query: () => '' };
  let i = 0;
  const flood = { header: () => madeUp[i++ & 4095], query: () => '' };
  // Warm the cache and both paths.
  await on.authenticate(valid);
  for (const [name, source] of [
    ['cached valid key', valid],
    ['flood of made-up keys', flood],
  ] as const) {
    const ratios: number[] = [];
    rate(() => off.authenticate(source), 300);
    rate(() => on.authenticate(source), 300);
    for (let round = 0; round < 15; round++) {
      // Interleaved, alternating which goes first: drift lands on both.
      const first = round % 2 === 0;
      const a = first ? rate(() => on.authenticate(source), 500) : 0;
      const b = rate(() => off.authenticate(source), 500);
      const c = first ? a : rate(() => on.authenticate(source), 500);
      ratios.push(c / b);
      await manager.analytics.flush();
    }
    report(
      'in-process',
      `guard alone, analytics on/off, ${name} (median)`,
      quantile(ratios, 0.5),
      'ratio',
      0.98,
      true,
    );
    log(`             rounds: ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
  }
  await manager.close();
}

const root = fileURLToPath(new URL('../', import.meta.url));

/** A `keyward serve` on a new SQLite store: its URL and the key it issued. */
async function serve(dir: string, extra: string[]) {
  const cli = `${root}packages/server/src/cli/main.ts`;
  const tsx = `${root}node_modules/tsx/dist/loader.mjs`;
  const argv = ['--conditions=@keyward/source', '--import', tsx, cli, 'serve', '--port', '0'];
  argv.push('--log-level', 'silent', '--db', join(dir, 'keyward.db'), ...extra);
  const child = spawn(process.execPath, argv, {
    cwd: dir,
    env: { PATH: process.env.PATH, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const found = await new Promise<RegExpMatchArray>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      const m = err.match(/listening on (http:\/\/\S+)[\s\S]*?\n {2}(kw_\w+)\n/);
      if (m) resolve(m);
    });
    child.once('exit', () => reject(new Error(`keyward serve stopped:\n${err}`)));
  });
  return { child, url: found[1]!, key: found[2]! };
}

/** Requests a second wrk sustains against `url` (a valid key, or a made-up key per request). */
function wrk(url: string, key: string | undefined, lua: string, seconds: number): Promise<number> {
  const argv = ['-t1', '-c32', `-d${seconds}s`];
  if (key) argv.push('-H', `X-API-Key: ${key}`);
  else argv.push('-s', lua);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', [...argv, `${url}/secure-data`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.once('exit', () => {
      const m = out.match(/Requests\/sec:\s+([\d.]+)/);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`wrk said:\n${out}`));
    });
  });
}

/** A made-up key per request: random base62 of the right length (its checksum fails). */
const FLOOD_LUA = `local chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
math.randomseed(os.time())
request = function()
  local t = {}
  for i = 1, 38 do local r = math.random(1, 62); t[i] = chars:sub(r, r) end
  return wrk.format(nil, nil, {["X-API-Key"] = "kw_" .. table.concat(t)})
end
`;

async function http(): Promise<void> {
  const seconds = Number(args.seconds);
  const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-usage-http-'));
  const lua = join(dir, 'flood.lua');
  writeFileSync(lua, FLOOD_LUA);
  for (const d of ['on', 'off']) mkdirSync(join(dir, d), { mode: 0o700 });
  const on = await serve(join(dir, 'on'), []);
  const off = await serve(join(dir, 'off'), ['--no-analytics']);
  try {
    for (const [name, valid] of [
      ['cached valid key', true],
      ['flood of made-up keys', false],
    ] as const) {
      const run = (s: { url: string; key: string }, secs: number) =>
        wrk(s.url, valid ? s.key : undefined, lua, secs);
      await run(on, 1);
      await run(off, 1);
      const ratios: number[] = [];
      for (let round = 0; round < 5; round++) {
        // Alternating which goes first: drift of a shared machine lands on both.
        const first = round % 2 === 0;
        const a = first ? await run(on, seconds) : 0;
        const b = await run(off, seconds);
        const c = first ? a : await run(on, seconds);
        ratios.push(c / b);
      }
      report(
        'http',
        `throughput analytics on/off, ${name} (median)`,
        quantile(ratios, 0.5),
        'ratio',
        0.98,
        true,
      );
      log(`             rounds: ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
    }
  } finally {
    on.child.kill('SIGTERM');
    off.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

log(
  `keyward usage analytics bench: ${KEYS.toLocaleString('en')} keys, ${DAYS} days, ${HOT} hot keys + ${ACTIVE.toLocaleString('en')} others a day`,
);
const only = args.only;
if (only === undefined || only === 'http') await http();
if (only === undefined || only === 'throughput') await throughput();
if (only === undefined || only === 'sqlite') await sqliteFigures();
if (only === undefined || only === 'postgres') await postgresFigures();
if (args.json)
  process.stdout.write(
    `${JSON.stringify({ keys: KEYS, days: DAYS, hot: HOT, activePerDay: ACTIVE, figures }, null, 2)}\n`,
  );
const missed = figures.filter((f) => f.pass === false);
log(missed.length === 0 ? 'all targets met' : `${missed.length} target(s) missed`);
