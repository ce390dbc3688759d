// `keyward serve` as real processes: when it issues its first key (and where it prints it),
// how it fails when it cannot listen, how it treats clients that send slowly, and that it
// stops while its Redis hangs.
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, OwnRedis, PG_URL, REDIS_URL, requireService } from '../helpers/services.js';
import { PEPPER, tempDir } from '../keys/temp.js';
import { type Child, cliProcess, spawnCli } from './run.js';

const dir = tempDir('keyward-serve-start-');
let n = 0;
const children: Child[] = [];
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
});

function serve(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawnCli(['serve', ...args], env, { cwd: dir });
  children.push(child);
  return child;
}

async function stop(child: Child): Promise<void> {
  child.child.kill('SIGTERM');
  await child.exited;
}

/** The keys of a store, as `keys list --json` gives them. */
async function keysOf(db: string, env: NodeJS.ProcessEnv): Promise<{ id: string; name: string }[]> {
  const out = await cliProcess(['keys', 'list', '--json', '--db', db], env);
  expect(out.code).toBe(0);
  return (JSON.parse(out.stdout) as { keys: { id: string; name: string }[] }).keys;
}

const KEY = /kw_[0-9A-Za-z]{38}/;

describe('keyward serve: the first key', () => {
  it('is issued on the start that creates the store, never again after every key is deleted', async () => {
    const db = join(dir, `first-${++n}.db`);
    const first = serve(['--port', '0', '--db', db]);
    await first.waitFor(/listening on/);
    const [, id] = (await first.waitFor(/issued key (key_\w+)/)) as string[];
    expect(first.output().stdout).not.toMatch(KEY);
    expect(first.output().stderr).toMatch(KEY);
    await stop(first);

    expect((await cliProcess(['keys', 'delete', id!, '--yes', '--db', db], {})).code).toBe(0);
    expect(await keysOf(db, {})).toEqual([]);
    const again = serve(['--port', '0', '--db', db]);
    await again.waitFor(/No key was issued/);
    await stop(again);
    const { stdout, stderr } = again.output();
    expect(stdout + stderr).not.toMatch(KEY);
    expect(stderr).toContain(`npx keyward keys create --name demo --scopes admin --db ${db}`);
    expect(await keysOf(db, {})).toEqual([]);
  });

  it('is not issued on a store a CLI command created, which then says how to make one', async () => {
    const db = join(dir, `made-by-cli-${++n}.db`);
    expect((await cliProcess(['init', '--db', db], {})).code).toBe(0);
    expect(await keysOf(db, {})).toEqual([]);
    const child = serve(['--port', '0', '--db', db]);
    await child.waitFor(/No key was issued/);
    await stop(child);
    expect(child.output().stdout + child.output().stderr).not.toMatch(KEY);
    expect(await keysOf(db, {})).toEqual([]);
  });

  it('prints nothing about keys when the store has some', async () => {
    const db = join(dir, `has-keys-${++n}.db`);
    expect((await cliProcess(['keys', 'create', '--name', 'x', '--db', db], {})).code).toBe(0);
    const child = serve(['--port', '0', '--db', db]);
    await child.waitFor(/Verifying keys against the key store/);
    await stop(child);
    expect(child.output().stderr).not.toMatch(/No key was issued|issued key/);
  });
});

const pgUp = await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432));

describe.skipIf(!pgUp)('keyward serve on PostgreSQL', () => {
  const schemas: string[] = [];
  const pgEnv = () => {
    const schema = `keyward_serve_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    const url = new URL(PG_URL);
    url.searchParams.set('schema', schema);
    return { KEYWARD_DATABASE_URL: url.toString(), KEYWARD_PEPPER: PEPPER };
  };
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await admin.end();
  });

  it('issues one first key between two instances starting at once on a new schema', async () => {
    const env = pgEnv();
    const both = [serve(['--port', '0'], env), serve(['--port', '0'], env)];
    await Promise.all(both.map((c) => c.waitFor(/Verifying keys against the key store/)));
    await Promise.all(both.map(stop));
    const issued = both.filter((c) => /issued key/.test(c.output().stderr));
    expect(issued).toHaveLength(1);
    expect((await keysOfUrl(env)).map((k) => k.name)).toEqual(['demo']);
  });

  it('exits non-zero, saying why, when its port is taken, and lets go of the pool', async () => {
    const { server, port } = await occupiedPort();
    try {
      const child = serve(['--port', String(port)], pgEnv());
      const code = await Promise.race([child.exited, timeout(15_000)]);
      expect(code).toBe(1);
      expect(child.output().stderr).toContain(
        `keyward: cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)`,
      );
    } finally {
      server.close();
    }
  });
});

/** `keys list` on the store of a PostgreSQL environment (its URL is in the environment). */
async function keysOfUrl(env: NodeJS.ProcessEnv): Promise<{ id: string; name: string }[]> {
  const out = await cliProcess(['keys', 'list', '--json'], env);
  expect(out.code).toBe(0);
  return (JSON.parse(out.stdout) as { keys: { id: string; name: string }[] }).keys;
}

async function occupiedPort(): Promise<{ server: Server; port: number }> {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port };
}

const timeout = (ms: number) =>
  new Promise<string>((resolve) => setTimeout(() => resolve(`still running after ${ms} ms`), ms).unref());

describe('keyward serve: failures to start and slow clients', () => {
  it('exits non-zero, saying why, when its port is taken (SQLite)', async () => {
    const { server, port } = await occupiedPort();
    try {
      const child = serve(['--port', String(port), '--db', join(dir, `taken-${++n}.db`)]);
      const code = await Promise.race([child.exited, timeout(15_000)]);
      expect(code).toBe(1);
      expect(child.output().stderr).toContain(
        `keyward: cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)`,
      );
      // No first key was issued by a start that could not serve.
      expect(child.output().stderr).not.toMatch(KEY);
    } finally {
      server.close();
    }
  });

  it('refuses a head timeout longer than the request timeout (exit 2)', async () => {
    const out = await cliProcess(
      ['serve', '--port', '0', '--headers-timeout', '20s', '--request-timeout', '10s'],
      { KEYWARD_API_KEYS: 'static-key-0123456789abcdef' },
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--headers-timeout must not be longer than --request-timeout/);
  });

  it('cuts off a client trickling its headers after the headers timeout, and serves others meanwhile', async () => {
    // Set through the environment, as deployments do.
    const child = serve(['--port', '0'], {
      KEYWARD_API_KEYS: 'static-key-0123456789abcdef',
      KEYWARD_HEADERS_TIMEOUT: '2s',
    });
    const [, base] = (await child.waitFor(/listening on (http:\/\/\S+)/)) as string[];
    const { port } = new URL(base!);
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const started = Date.now();
    let answer = '';
    socket.on('data', (d) => {
      answer += d;
    });
    const closed = new Promise<number>((resolve) =>
      socket.once('close', () => resolve(Date.now() - started)),
    );
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    // One header byte every 200 ms: never a complete head.
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('X');
    }, 200);
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const after = await Promise.race([closed, timeout(10_000)]);
      expect(typeof after).toBe('number');
      // Cut at the 2 s timeout, give or take Node's 1 s check interval.
      expect(after).toBeGreaterThanOrEqual(1900);
      expect(after).toBeLessThan(4500);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
      await stop(child);
    }
  });
});

// Where the machine has Redis, it has redis-server for a throwaway one.
const redisUp = await requireService('Redis', Number(new URL(REDIS_URL).port));

describe.skipIf(!redisUp)('keyward serve with a hung Redis', () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await OwnRedis.start();
  });
  afterAll(async () => {
    redis?.resume();
    await redis?.stop();
  });

  it('stops on SIGTERM within seconds instead of waiting for Redis to answer QUIT', async () => {
    const child = serve(['--port', '0', '--auth-failure-limit', '1000/1m'], {
      KEYWARD_API_KEYS: 'static-key-0123456789abcdef',
      KEYWARD_REDIS_URL: redis.url,
    });
    const [, base] = (await child.waitFor(/listening on (http:\/\/\S+)/)) as string[];
    const check = new Redis(redis.url);
    try {
      // Failed attempts until one is counted in Redis: serve's connection is up and in use.
      await vi.waitFor(
        async () => {
          await fetch(`${base}/secure-data`, { headers: { 'X-API-Key': 'wrong-key-000000' } });
          expect(await check.dbsize()).toBeGreaterThan(0);
        },
        { timeout: 10_000, interval: 200 },
      );
    } finally {
      check.disconnect();
    }
    redis.pause();
    try {
      const started = Date.now();
      child.child.kill('SIGTERM');
      expect(await Promise.race([child.exited, timeout(10_000)])).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      redis.resume();
    }
  });
});
