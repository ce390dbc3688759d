/**
 * The admin API's figures (issue 19), a script apart from `npm run bench`:
 *
 *   npm run bench:admin [-- --keys 1000000] [--seconds 5] [--json]
 *
 * 1. Imports `--keys` keys (1M by default) into a SQLite store, with a root key
 *    (`keyward:*`) and one key to verify.
 * 2. Starts `keyward serve` on it as a user runs it (the built CLI, request log silent),
 *    pinned to one core when `taskset` exists, and measures over HTTP from this process:
 *    - `GET /v1/keys` first page: p95 of 200 requests (target < 50 ms);
 *    - the dashboard's keys page as its server sees it: `GET /dashboard` and the page's
 *      `GET /v1/keys?limit=20` with the session cookie, one after the other (target < 100 ms p95);
 *    - `POST /v1/keys/verify` with the cached key: wrk on the other core, 32 connections
 *      (target >= 10,000 per second on the server's one core).
 * Prints each figure with pass or miss; `--json` prints them as one object.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { keyFormat } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { cpuSeconds, hasCommand } from './lib/proc.js';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write('npm run bench:admin [-- --keys N] [--seconds S] [--json]\n');
  process.exit(0);
}

const KEYS = Number(args.keys);
const SECONDS = Number(args.seconds);
const PEPPER = 'bench-admin-pepper-0123456789abcdefghijklmnopqrstuvwxyz';
const root = fileURLToPath(new URL('..', import.meta.url));
const say = (line: string) => {
  if (!args.json) process.stdout.write(`${line}\n`);
};

const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-admin-'));
const database = join(dir, 'keys.db');
const env = { ...process.env, KEYWARD_PEPPER: PEPPER };

async function seed(): Promise<{ rootKey: string; key: string }> {
  const manager = await openKeyManager({ database, env });
  const format = keyFormat();
  const started = performance.now();
  function* items() {
    for (let i = 0; i < KEYS; i++) yield { key: format.generate(), name: `key ${i}` };
  }
  await manager.importKeys(items(), { batchSize: 20_000 });
  say(`imported ${KEYS} keys in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const rootKey = (await manager.create({ name: 'ops', scopes: ['keyward:*'] })).key;
  const key = (await manager.create({ name: 'verified', scopes: ['read'] })).key;
  await manager.close();
  return { rootKey, key };
}

interface Served {
  readonly admin: string;
  readonly pid: number;
  stop(): void;
}

/** `keyward serve` on the store, on core 0 when it can be pinned; resolves with the admin URL. */
function serve(): Promise<Served> {
  const argv = [
    join(root, 'packages/server/bin/keyward.js'),
    'serve',
    '--db',
    database,
    '--port',
    '0',
    '--admin-port',
    '0',
    '--log-level',
    'silent',
  ];
  const pinned = hasCommand('taskset');
  const child = pinned
    ? spawn('taskset', ['-c', '0', process.execPath, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 60_000);
    const read = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /admin API listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ admin: match[1]!, pid: child.pid!, stop: () => child.kill('SIGTERM') });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}):\n${out}`)));
  });
}

/**
 * Waits until the server idles (under 5 % of a core for half a second, at most 30 s): it
 * loads its membership filter of the store's key tags in the background after it starts,
 * a second or more of CPU that must not land in the measured figures.
 */
async function settle(pid: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const before = cpuSeconds(pid);
    await new Promise((done) => setTimeout(done, 500));
    const after = cpuSeconds(pid);
    if (before === undefined || after === undefined || after - before < 0.025) return;
  }
  say('the server was still busy after 30 s');
}

function p95(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;
}

async function timed(n: number, once: () => Promise<void>): Promise<number> {
  for (let i = 0; i < 10; i++) await once(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  return p95(times);
}

async function ok(response: Response, what: string): Promise<void> {
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${what}: ${response.status}`);
}

/** POST /v1/keys/verify with wrk (LuaJIT) on core 1, or in this process without wrk. */
async function verifyRate(admin: string, rootKey: string, key: string): Promise<number> {
  const body = JSON.stringify({ key });
  if (!hasCommand('wrk')) throw new Error('wrk is needed for the verify rate (apt-get install wrk)');
  const script = join(dir, 'verify.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["content-type"] = "application/json"\nwrk.headers["authorization"] = ${JSON.stringify(`Bearer ${rootKey}`)}\ndone = function(summary, latency, requests)\n  io.write(string.format("BENCH_RATE %d %d %d\\n", summary.requests, summary.duration, summary.errors.status))\nend\n`,
  );
  const wrkArgs = ['-t1', '-c32', `-d${SECONDS}s`, '-s', script, `${admin}/v1/keys/verify`];
  const child = hasCommand('taskset')
    ? spawn('taskset', ['-c', '1', 'wrk', ...wrkArgs])
    : spawn('wrk', wrkArgs);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const match = /BENCH_RATE (\d+) (\d+) (\d+)/.exec(out);
  if (!match) throw new Error(`wrk printed no result:\n${out}`);
  if (Number(match[3]) > 0) throw new Error(`verify answered ${match[3]} non-2xx responses`);
  return Number(match[1]) / (Number(match[2]) / 1e6);
}

const { rootKey, key } = await seed();
const served = await serve();
try {
  await settle(served.pid);
  const bearer = { authorization: `Bearer ${rootKey}` };
  const firstPage = await timed(200, async () =>
    ok(await fetch(`${served.admin}/v1/keys`, { headers: bearer }), 'GET /v1/keys'),
  );

  const signIn = await fetch(`${served.admin}/dashboard/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: served.admin },
    body: new URLSearchParams({ key: rootKey }).toString(),
  });
  const cookie = signIn.headers.get('set-cookie')?.split(';')[0];
  if (signIn.status !== 303 || !cookie) throw new Error(`dashboard sign-in: ${signIn.status}`);
  const keysPage = await timed(100, async () => {
    await ok(await fetch(`${served.admin}/dashboard`, { headers: { cookie } }), 'GET /dashboard');
    await ok(await fetch(`${served.admin}/v1/keys?limit=20`, { headers: { cookie } }), 'GET /v1/keys (page)');
  });

  const rate = await verifyRate(served.admin, rootKey, key);
  const results = [
    {
      figure: 'GET /v1/keys first page, p95',
      value: firstPage,
      unit: 'ms',
      pass: firstPage < 50,
      goal: '< 50 ms',
    },
    {
      figure: 'dashboard keys page server time, p95',
      value: keysPage,
      unit: 'ms',
      pass: keysPage < 100,
      goal: '< 100 ms',
    },
    {
      figure: 'POST /v1/keys/verify, one server core',
      value: rate,
      unit: '/s',
      pass: rate >= 10_000,
      goal: '>= 10,000/s',
    },
  ];
  if (args.json) process.stdout.write(`${JSON.stringify({ keys: KEYS, results })}\n`);
  for (const r of results) {
    say(
      `${r.pass ? 'PASS' : 'MISS'}  ${r.figure}: ${r.unit === 'ms' ? r.value.toFixed(1) : Math.round(r.value)} ${r.unit} (goal ${r.goal})`,
    );
  }
} finally {
  served.stop();
  rmSync(dir, { recursive: true, force: true });
}
