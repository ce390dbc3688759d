// Key restrictions over real HTTP: `keys create|update --ip-allow/--origin-allow/--routes`
// in one process, a spawned `keyward serve` answering in another, on SQLite and PostgreSQL.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, REDIS_URL, requireService } from '../helpers/services.js';
import { startServe } from '../helpers/spawn.js';
import { PEPPER, tempDir } from '../keys/temp.js';
import { cli, type Instance, isolatedDatabase, sleep } from '../scale/helpers.js';

const pgUp =
  (await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432))) &&
  (await requireService('Redis', Number(new URL(REDIS_URL).port || 6379)));
const redisPrefix = `keyward-test:${randomBytes(4).toString('hex')}`;
const RESTRICTED = '{"detail":"API key not allowed here"}';

interface Backend {
  name: string;
  run: boolean;
  env(): NodeJS.ProcessEnv;
  cleanup?(): Promise<void>;
}

const dir = tempDir('keyward-restrict-');
const schemaDb = isolatedDatabase(PG_URL, 'restrict');
const backends: Backend[] = [
  {
    name: 'SQLite',
    run: true,
    env: () => ({ KEYWARD_DATABASE_URL: join(dir, 'keyward.db'), KEYWARD_PEPPER: PEPPER }),
  },
  {
    name: 'PostgreSQL and Redis, two instances',
    run: pgUp,
    env: () => ({
      KEYWARD_DATABASE_URL: schemaDb.url,
      KEYWARD_PEPPER: PEPPER,
      KEYWARD_REDIS_URL: REDIS_URL,
      KEYWARD_REDIS_PREFIX: redisPrefix,
    }),
    async cleanup() {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schemaDb.schema}" CASCADE`);
      await admin.end();
    },
  },
];

for (const backend of backends) {
  describe.skipIf(!backend.run)(`restricted keys over HTTP on ${backend.name}`, () => {
    const env = backend.env();
    // 127.0.0.1 is a trusted proxy: X-Forwarded-For names the client, as behind a load balancer.
    let proxied: Instance;
    // No trusted proxy: the peer (127.0.0.1) is the client, whatever the request says.
    let direct: Instance;

    async function create(...flags: string[]) {
      const r = await cli(['keys', 'create', '--name', 'restricted', '--json', ...flags], env);
      if (r.code !== 0) throw new Error(`keys create failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout) as { key: string; id: string; restrictions: unknown };
    }
    async function call(
      base: string,
      key: string,
      headers: Record<string, string> = {},
      path = '/secure-data',
    ) {
      const res = await fetch(base + path, { headers: { 'X-API-Key': key, ...headers } });
      return { status: res.status, body: await res.text() };
    }

    beforeAll(async () => {
      // The first CLI call creates the store; serve then finds it.
      await create();
      [proxied, direct] = await Promise.all([
        startServe(['--trust-proxy', '127.0.0.1', '--usage-flush', '1s'], env),
        startServe(['--usage-flush', '1s'], env),
      ]);
    });
    afterAll(async () => {
      await Promise.all([proxied?.stop(), direct?.stop()]);
      await backend.cleanup?.();
    });

    it('lets a key in only from its addresses, behind trusted proxies, IPv4 and IPv6', async () => {
      const { key, restrictions } = await create('--ip-allow', '203.0.113.0/24,2001:DB8::/32');
      expect(restrictions).toEqual({ ipAllow: ['203.0.113.0/24', '2001:db8::/32'] });
      const from = (client: string) => call(proxied.url, key, { 'X-Forwarded-For': client });
      expect(await from('203.0.113.7')).toMatchObject({ status: 200 });
      expect(await from('2001:db8:1::9')).toMatchObject({ status: 200 });
      expect(await from('198.51.100.1')).toEqual({ status: 403, body: RESTRICTED });
      expect(await from('2001:db9::1')).toEqual({ status: 403, body: RESTRICTED });
      // The peer of the server without trusted proxies is 127.0.0.1; the header is not believed.
      expect(await call(direct.url, key, { 'X-Forwarded-For': '203.0.113.7' })).toEqual({
        status: 403,
        body: RESTRICTED,
      });
      const local = await create('--ip-allow', '127.0.0.0/8');
      expect(await call(direct.url, local.key)).toMatchObject({ status: 200 });
    });

    it('spends neither uses nor rate limit on a refused request, on either instance', async () => {
      const { key } = await create('--ip-allow', '203.0.113.0/24', '--uses', '2', '--rate-limit', '2/1m');
      const from = (client: string) => call(proxied.url, key, { 'X-Forwarded-For': client });
      for (let i = 0; i < 4; i++) {
        expect((await from('198.51.100.1')).status).toBe(403);
        expect((await call(direct.url, key)).status).toBe(403);
      }
      expect((await from('203.0.113.1')).status).toBe(200);
      expect((await from('203.0.113.1')).status).toBe(200);
      expect((await from('203.0.113.1')).status).toBe(429);
    });

    it('checks Origin, falls back to Referer, and refuses a request with neither', async () => {
      const { key } = await create('--origin-allow', 'https://app.example.com,https://*.example.org');
      const with_ = (headers: Record<string, string>) => call(proxied.url, key, headers);
      expect((await with_({ Origin: 'https://app.example.com' })).status).toBe(200);
      expect((await with_({ Origin: 'https://a.example.org' })).status).toBe(200);
      expect((await with_({ Referer: 'https://app.example.com/dashboard?x=1' })).status).toBe(200);
      expect(await with_({ Origin: 'https://evil.example' })).toEqual({ status: 403, body: RESTRICTED });
      expect((await with_({ Referer: 'https://evil.example/https://app.example.com' })).status).toBe(403);
      expect((await with_({})).status).toBe(403);
    });

    it('allows only the routes given, as METHOD /path or operation ids', async () => {
      const byPath = await create('--scopes', 'admin', '--routes', 'GET /secure-data');
      expect((await call(proxied.url, byPath.key)).status).toBe(200);
      expect(await call(proxied.url, byPath.key, {}, '/admin-data')).toEqual({
        status: 403,
        body: RESTRICTED,
      });
      const byId = await create('--scopes', 'admin', '--routes', 'get_admin_data');
      expect((await call(proxied.url, byId.key, {}, '/admin-data')).status).toBe(200);
      expect((await call(proxied.url, byId.key)).status).toBe(403);
      // Restrictions come before scopes: a key without the scope learns nothing more.
      const noScope = await create('--routes', 'GET /secure-data');
      expect(await call(proxied.url, noScope.key, {}, '/admin-data')).toEqual({
        status: 403,
        body: RESTRICTED,
      });
    });

    it('takes the restrictions of keys create from the environment too', async () => {
      const r = await cli(['keys', 'create', '--name', 'from-env', '--json'], {
        ...env,
        KEYWARD_IP_ALLOW: '203.0.113.0/24',
        KEYWARD_ROUTES: 'GET /secure-data',
      });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).restrictions).toEqual({
        ipAllow: ['203.0.113.0/24'],
        routes: ['GET /secure-data'],
      });
      const bad = await cli(['keys', 'create', '--name', 'from-env'], {
        ...env,
        KEYWARD_ORIGIN_ALLOW: 'nope',
      });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/is not an origin/);
    });

    it('refuses malformed restrictions at create with a clear error, creating nothing', async () => {
      for (const [flag, value, message] of [
        ['--ip-allow', '10.0.0.0/33', /bad prefix length in "10.0.0.0\/33"/],
        ['--ip-allow', '10.0.0.1/8', /did you mean 10.0.0.0\/8/],
        ['--origin-allow', 'app.example.com', /is not an origin/],
        ['--routes', 'GET reports', /must start with \//],
      ] as const) {
        const r = await cli(['keys', 'create', '--name', 'bad', '--json', flag, value], env);
        expect(r.code).toBe(2);
        // With --json the error is a JSON object on stderr.
        expect((JSON.parse(r.stderr) as { error: { code: string; message: string } }).error).toMatchObject({
          code: 'usage',
          message: expect.stringMatching(message),
        });
        expect(r.stdout).toBe('');
      }
      const list = await cli(['keys', 'list', '--json', '--limit', '1000'], env);
      expect(
        (JSON.parse(list.stdout) as { keys: { name: string }[] }).keys.some((k) => k.name === 'bad'),
      ).toBe(false);
    });

    it('applies keys update to running servers: kinds replaced one at a time, then lifted', async () => {
      const { key, id } = await create('--ip-allow', '203.0.113.0/24');
      const from = (client: string) => call(proxied.url, key, { 'X-Forwarded-For': client });
      expect((await from('198.51.100.1')).status).toBe(403);
      const updated = await cli(['keys', 'update', id, '--routes', 'GET /secure-data', '--json'], env);
      expect(updated.code).toBe(0);
      expect(JSON.parse(updated.stdout).restrictions).toEqual({
        ipAllow: ['203.0.113.0/24'],
        routes: ['GET /secure-data'],
      });
      const shown = await cli(['keys', 'show', id], env);
      expect(shown.stdout).toMatch(/ip allow:\s+203\.0\.113\.0\/24/);
      expect(shown.stdout).toMatch(/routes:\s+GET \/secure-data/);
      expect((await cli(['keys', 'update', id, '--no-restrictions'], env)).code).toBe(0);
      let status = 0;
      for (let i = 0; i < 40 && status !== 200; i++) {
        status = (await from('198.51.100.1')).status;
        if (status !== 200) await sleep(100);
      }
      expect(status).toBe(200);
    });
  });
}
