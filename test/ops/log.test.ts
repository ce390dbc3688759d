// The request log of a real `keyward serve` (SQLite), read off its stdout: one JSON line
// per request with the documented fields, never a key; security events as lines of their
// own; request ids from trusted proxies only, echoed as X-Request-Id.
import { request } from 'node:http';
import { join } from 'node:path';
import { openKeyManager } from '@keyward/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PG_URL, REDIS_URL, requireService } from '../helpers/services.js';
import { startServe } from '../helpers/spawn.js';
import { tempDir } from '../keys/temp.js';
import { isolatedDatabase } from '../scale/helpers.js';
import { PEPPER } from './helpers.js';

// Requests from 127.0.0.2 come through the trusted proxy; from 127.0.0.1 straight from a client.
const PROXY = '127.0.0.2';

interface Answer {
  status: number;
  requestId: string | undefined;
}

function send(
  base: string,
  path: string,
  headers: Record<string, string>,
  from = '127.0.0.1',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers, localAddress: from }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode!, requestId: res.headers['x-request-id'] as string | undefined }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

interface Where {
  database: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

function describeLog(name: string, where: () => Promise<Where>) {
  let serve: Awaited<ReturnType<typeof startServe>>;
  let base: string;
  const keys: Record<string, { key: string; id: string }> = {};

  /** The log lines so far, parsed (every line must be JSON). */
  const lines = () =>
    serve.cli
      .stdout()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const lineOf = async (requestId: string, msg = 'request') => {
    let found: Record<string, unknown> | undefined;
    await vi.waitFor(() => {
      found = lines().find((l) => l.requestId === requestId && l.msg === msg);
      expect(found).toBeDefined();
    });
    return found!;
  };

  beforeAll(async () => {
    const { database, args, env } = await where();
    const manager = await openKeyManager({ database, pepper: PEPPER, pollIntervalMs: 0 });
    const make = async (name: string, more: object = {}) => {
      const { key, record } = await manager.create({ name, ...more });
      keys[name] = { key, id: record.id };
    };
    // A key names an owner that exists.
    await manager.createOwner({ name: 'acme' });
    await make('owned', { owner: 'acme' });
    await make('revoked');
    await manager.revoke(keys.revoked!.id);
    await make('disabled', { enabled: false });
    await make('expired', { expiresIn: 200 });
    await manager.close();
    await new Promise((r) => setTimeout(r, 250));
    serve = await startServe([...args, '--trust-proxy', PROXY, '--auth-failure-limit', '3/1h'], {
      KEYWARD_PEPPER: PEPPER,
      ...env,
    });
    base = serve.url;
  });
  afterAll(async () => {
    await serve?.stop();
  });

  describe(`the request log (${name})`, () => {
    it('has request id, method, route, path, status, latency, address, key id and owner, never the key', async () => {
      const { key, id } = keys.owned!;
      const answer = await send(base, '/secure-data', { 'X-API-Key': key });
      expect(answer.status).toBe(200);
      expect(answer.requestId).toMatch(/^[\w-]+-[0-9a-z]+$/);
      const line = await lineOf(answer.requestId!);
      expect(line).toMatchObject({
        level: 30,
        msg: 'request',
        requestId: answer.requestId,
        method: 'GET',
        route: '/secure-data',
        path: '/secure-data',
        status: 200,
        address: '127.0.0.1',
        keyId: id,
        owner: 'acme',
        keyIn: 'header',
      });
      expect(line.durationMs).toEqual(expect.any(Number));
      expect(line.time).toEqual(expect.any(Number));
      expect(line).not.toHaveProperty('failure');
    });

    it('logs the failure code and reason of a refusal, and a key in the URL at warn without the query', async () => {
      const missing = await send(base, '/secure-data', {});
      expect(await lineOf(missing.requestId!)).toMatchObject({ status: 401, failure: 'missing' });
      const scope = await send(base, '/admin-data', { 'X-API-Key': keys.owned!.key });
      // The guard refuses the scope without handing on the principal: no key id here.
      expect(await lineOf(scope.requestId!)).toMatchObject({
        status: 403,
        route: '/admin-data',
        failure: 'insufficient_scope',
      });
      const query = await send(base, `/secure-data?x-api-key=${keys.owned!.key}`, {});
      expect(await lineOf(query.requestId!)).toMatchObject({
        level: 40,
        status: 200,
        path: '/secure-data',
        keyIn: 'query',
      });
    });

    it('writes a security line naming the key when a revoked, expired or disabled key is refused', async () => {
      for (const name of ['revoked', 'expired', 'disabled']) {
        const answer = await send(base, '/secure-data', { 'X-API-Key': keys[name]!.key });
        expect(answer.status).toBe(401);
        expect(await lineOf(answer.requestId!)).toMatchObject({
          status: 401,
          failure: 'invalid',
          reason: name,
          keyId: keys[name]!.id,
        });
        expect(await lineOf(answer.requestId!, 'security')).toMatchObject({
          level: 40,
          event: 'key_refused',
          reason: name,
          address: '127.0.0.1',
          keyId: keys[name]!.id,
        });
      }
      // A made-up key is no security event of its own (the address limit watches those).
      // (From an address of its own: this one has used up its failed attempts above.)
      const made = await send(
        base,
        '/secure-data',
        { 'X-API-Key': 'kw_madeUpKeyThatIsNotStoredAnywhere0123', 'X-Forwarded-For': '192.0.2.55' },
        PROXY,
      );
      expect(made.status).toBe(401);
      await lineOf(made.requestId!);
      expect(lines().some((l) => l.msg === 'security' && l.requestId === made.requestId)).toBe(false);
    });

    it('writes a security line when an address is blocked for failed attempts, with the proxied address', async () => {
      const client = { 'X-Forwarded-For': '198.51.100.7' };
      const statuses: number[] = [];
      let last: Answer | undefined;
      for (let i = 0; i < 4; i++) {
        last = await send(
          base,
          '/secure-data',
          { ...client, 'X-API-Key': `kw_wrong${i}KeyThatIsNotStoredAnywhere0123` },
          PROXY,
        );
        statuses.push(last.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect(await lineOf(last!.requestId!)).toMatchObject({
        status: 429,
        failure: 'rate_limited',
        reason: 'address',
        address: '198.51.100.7',
      });
      expect(await lineOf(last!.requestId!, 'security')).toMatchObject({
        event: 'address_blocked',
        address: '198.51.100.7',
      });
    });

    it('keeps X-Request-Id only from trusted proxies, and only when it is a plain token', async () => {
      const trusted = await send(base, '/health', { 'X-Request-Id': 'edge-4711.a/b' }, PROXY);
      expect(trusted.requestId).toBe('edge-4711.a/b');
      expect(await lineOf('edge-4711.a/b')).toMatchObject({ status: 200, route: '/health', path: '/health' });
      // Unknown paths have no route.
      const lost = await send(base, '/nowhere', {});
      expect(await lineOf(lost.requestId!)).toMatchObject({ status: 404, route: null, path: '/nowhere' });
      const direct = await send(base, '/health', { 'X-Request-Id': 'spoofed-by-a-client' });
      expect(direct.requestId).not.toBe('spoofed-by-a-client');
      await lineOf(direct.requestId!);
      const odd = await send(base, '/health', { 'X-Request-Id': 'has"quote' }, PROXY);
      expect(odd.requestId).not.toBe('has"quote');
      expect(lines().some((l) => l.requestId === 'spoofed-by-a-client' || l.requestId === 'has"quote')).toBe(
        false,
      );
    });

    it('never prints a key, on stdout or stderr', async () => {
      const { stdout, stderr } = { stdout: serve.cli.stdout(), stderr: serve.cli.stderr() };
      for (const { key } of Object.values(keys)) {
        expect(stdout).not.toContain(key);
        expect(stderr).not.toContain(key);
      }
      expect(stdout).not.toContain('kw_wrong');
    });
  });
}

const dir = tempDir('keyward-log-');
describeLog('SQLite', async () => {
  const database = join(dir, 'log.db');
  return { database, args: ['--db', database], env: {} };
});

const services = (await requireService('PostgreSQL', 5432)) && (await requireService('Redis', 6379));
describe.skipIf(!services)('with PostgreSQL and Redis', () => {
  describeLog('PostgreSQL and Redis', async () => {
    const { url } = isolatedDatabase(PG_URL, 'log');
    return {
      database: url,
      args: [],
      env: {
        KEYWARD_DATABASE_URL: url,
        KEYWARD_REDIS_URL: REDIS_URL,
        KEYWARD_REDIS_PREFIX: `keyward:test:log:${process.pid}:${Date.now()}`,
      },
    };
  });
});
