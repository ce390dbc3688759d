// Usage analytics over real HTTP: `keyward serve` processes count every outcome, flush on
// SIGTERM, and `keyward usage` reads exactly the requests sent, per outcome, on SQLite and
// on two instances sharing PostgreSQL.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KEY_OUTCOMES, type KeyUsageOutcome, type UsageReport, type UsageTop } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type Child, cli, spawnCli } from '../cli/run.js';
import { PG_URL, requireService } from '../helpers/services.js';
import { PEPPER, tempDir } from '../keys/temp.js';

interface Keys {
  reader: { id: string; key: string };
  admin: { id: string; key: string };
  limited: { id: string; key: string };
  once: { id: string; key: string };
  revoked: { id: string; key: string };
  disabled: { id: string; key: string };
  expired: { id: string; key: string };
}

/** Issues the keys every scenario uses, in the store the servers will open. */
async function issueKeys(database: string, env: NodeJS.ProcessEnv): Promise<Keys> {
  const m = await openKeyManager({ database, env, pollIntervalMs: 0 });
  try {
    const make = async (name: string, settings: Record<string, unknown> = {}) => {
      const { key, record } = await m.create({ name, ...settings });
      return { id: record.id, key };
    };
    // Keys name owners that exist (owners18).
    for (const name of ['acme', 'beta']) await m.createOwner({ name });
    const keys: Keys = {
      reader: await make('reader', { owner: 'acme', scopes: ['read'] }),
      admin: await make('admin', { owner: 'acme', scopes: ['admin'] }),
      limited: await make('limited', { owner: 'beta', rateLimit: '2/1m' }),
      once: await make('once', { uses: 1 }),
      revoked: await make('revoked', { owner: 'beta' }),
      disabled: await make('disabled'),
      expired: await make('expired', { expiresIn: '1s' }),
    };
    await m.revoke(keys.revoked.id);
    await m.disable(keys.disabled.id);
    return keys;
  } finally {
    await m.close();
  }
}

/**
 * Sends the scenario, spread over the servers given (one request after another, so each
 * rate-limited key meets one server's limiter: the second server gets none of those).
 */
async function sendScenario(urls: string[], keys: Keys): Promise<void> {
  let turn = 0;
  const next = () => urls[turn++ % urls.length]!;
  const get = async (key: string | undefined, path = '/secure-data', url = next(), extra = '') => {
    const headers: Record<string, string> = key === undefined ? {} : { 'X-API-Key': key };
    const response = await fetch(`${url}${path}${extra}`, { headers });
    await response.arrayBuffer();
    return response.status;
  };
  const times = async (n: number, fn: () => Promise<number>, status: number) => {
    for (let i = 0; i < n; i++) expect(await fn()).toBe(status);
  };
  await times(5, () => get(keys.reader.key), 200);
  await times(3, () => get(keys.reader.key, '/admin-data'), 403);
  await times(4, () => get(keys.admin.key, '/admin-data'), 200);
  // The rate limit is per process without Redis: every request for this key goes to the first server.
  await times(2, () => get(keys.limited.key, '/secure-data', urls[0]), 200);
  await times(3, () => get(keys.limited.key, '/secure-data', urls[0]), 429);
  await times(1, () => get(keys.once.key), 200);
  await times(2, () => get(keys.once.key), 429);
  await times(2, () => get(keys.revoked.key), 401);
  await times(2, () => get(keys.disabled.key), 401);
  await times(2, () => get(keys.expired.key), 401);
  await times(3, () => get(undefined), 401);
  // The key twice in one place (the header repeated) is refused before any lookup.
  await times(2, () => get(`${keys.reader.key}, ${keys.reader.key}`), 400);
  await times(4, () => get(`kw_${'A'.repeat(38)}`), 401);
  await times(1, () => get('not-a-key-at-all'), 401);
}

/** What the scenario must have counted. */
const EXPECTED = {
  deployment: {
    valid: 12,
    expired: 2,
    revoked: 2,
    disabled: 2,
    insufficient_scope: 3,
    rate_limited: 3,
    usage_exceeded: 2,
    restricted: 0,
    missing: 3,
    duplicate: 2,
    invalid: 5,
    unavailable: 0,
  },
  acme: { valid: 9, insufficient_scope: 3 },
  beta: { valid: 2, rate_limited: 3, revoked: 2 },
};

/** Every outcome a key has, at zero. */
const ZERO_KEY = Object.fromEntries(KEY_OUTCOMES.map((o) => [o, 0])) as Record<KeyUsageOutcome, number>;

async function usageJson(args: string[], env: NodeJS.ProcessEnv): Promise<UsageReport> {
  const result = await cli(['usage', ...args, '--since', '1h', '--json'], env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as UsageReport;
}

async function checkCounts(keys: Keys, db: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const deployment = await usageJson(db, env);
  expect(deployment.scope).toEqual({ deployment: true });
  expect(deployment.granularity).toBe('minute');
  expect(deployment.totals).toEqual(EXPECTED.deployment);
  // The buckets add up to the totals.
  const summed: Record<string, number> = {};
  for (const b of deployment.buckets) {
    for (const [k, v] of Object.entries(b)) if (k !== 'start') summed[k] = (summed[k] ?? 0) + (v as number);
  }
  expect(summed).toEqual(Object.fromEntries(Object.entries(EXPECTED.deployment).filter(([, n]) => n > 0)));

  const perKey: [keyof Keys, Partial<typeof ZERO_KEY>][] = [
    ['reader', { valid: 5, insufficient_scope: 3 }],
    ['admin', { valid: 4 }],
    ['limited', { valid: 2, rate_limited: 3 }],
    ['once', { valid: 1, usage_exceeded: 2 }],
    ['revoked', { revoked: 2 }],
    ['disabled', { disabled: 2 }],
    ['expired', { expired: 2 }],
  ];
  for (const [name, counts] of perKey) {
    const report = await usageJson(['--key', keys[name].id, ...db], env);
    expect(report.scope).toEqual({ key: keys[name].id });
    expect(report.totals, name).toEqual({ ...ZERO_KEY, ...counts });
  }
  expect((await usageJson(['--owner', 'acme', ...db], env)).totals).toEqual({
    ...ZERO_KEY,
    ...EXPECTED.acme,
  });
  expect((await usageJson(['--owner', 'beta', ...db], env)).totals).toEqual({
    ...ZERO_KEY,
    ...EXPECTED.beta,
  });

  const top = await cli(['usage', 'top', '--since', '1h', '--limit', '3', '--json', ...db], env);
  expect(top.code).toBe(0);
  expect((JSON.parse(top.stdout) as UsageTop).items).toEqual([
    { key: keys.reader.id, valid: 5, refused: 3 },
    { key: keys.admin.id, valid: 4, refused: 0 },
    { key: keys.limited.id, valid: 2, refused: 3 },
  ]);
  const refused = await cli(
    ['usage', 'top', '--since', '1h', '--by', 'refused', '--owners', '--json', ...db],
    env,
  );
  expect((JSON.parse(refused.stdout) as UsageTop).items).toEqual([
    { owner: 'beta', valid: 2, refused: 5 },
    { owner: 'acme', valid: 9, refused: 3 },
  ]);
}

async function startServe(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ child: Child; url: string }> {
  const child = spawnCli(['serve', '--port', '0', '--log-level', 'silent', ...args], env, { cwd });
  const [, url] = (await child.waitFor(/listening on (http:\/\/\S+)/)) as [string, string];
  return { child, url };
}

const running: Child[] = [];
afterAll(() => {
  for (const c of running) if (c.child.exitCode === null) c.child.kill('SIGKILL');
});

describe('usage analytics over HTTP', () => {
  it('counts every outcome of a keyward serve on SQLite, flushed on SIGTERM', async () => {
    const dir = tempDir('keyward-usage-');
    const db = join(dir, 'keyward.db');
    const keys = await issueKeys(db, {});
    await sleep(1100); // `expired` expires
    // The flush interval is an hour: what is counted reaches the store on shutdown.
    const serve = await startServe(['--db', db, '--usage-flush', '1h'], {}, dir);
    running.push(serve.child);
    await sendScenario([serve.url], keys);
    serve.child.child.kill('SIGTERM');
    expect(await serve.child.exited).toBe(0);
    await checkCounts(keys, ['--db', db], {});

    // Last use is recorded with the flush: keys list and show print it.
    const shown = await cli(['keys', 'show', keys.reader.id, '--db', db, '--json'], {});
    expect(JSON.parse(shown.stdout).lastUsedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const listed = await cli(['keys', 'list', '--db', db], {});
    expect(listed.stdout).toContain('LAST USED');
  }, 60_000);

  it('adds the counts of two instances sharing PostgreSQL, exactly', async (t) => {
    if (!(await requireService('PostgreSQL', 5432))) return t.skip();
    const schema = `keyward_usage_http_${process.pid}_${Date.now()}`;
    const url = new URL(PG_URL);
    url.searchParams.set('schema', schema);
    const env = { KEYWARD_DATABASE_URL: url.toString(), KEYWARD_PEPPER: PEPPER };
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const keys = await issueKeys(url.toString(), env);
      await sleep(1100);
      const dir = tempDir('keyward-usage-pg-');
      // One flushes every second while requests arrive, the other only on SIGTERM.
      const a = await startServe(['--usage-flush', '1s'], env, dir);
      const b = await startServe(['--usage-flush', '1h'], env, dir);
      running.push(a.child, b.child);
      await sendScenario([a.url, b.url], keys);
      for (const s of [a, b]) s.child.child.kill('SIGTERM');
      expect(await a.child.exited).toBe(0);
      expect(await b.child.exited).toBe(0);
      await checkCounts(keys, [], env);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  }, 60_000);
});
