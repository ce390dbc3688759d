// `keyward serve`'s configuration: every flag has a KEYWARD_* variable, the variables
// work in a real process, and the startup lines show the effective configuration without
// a secret (pepper, passwords in database and Redis URLs).

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../packages/server/src/cli/program.js';
import { freePort, PG_URL, requireService } from '../helpers/services.js';
import { runCli, stop } from '../helpers/spawn.js';
import { isolatedDatabase } from '../scale/helpers.js';
import { PEPPER } from './helpers.js';

const io = {
  stdout: { write: () => true },
  stderr: { write: () => true, isTTY: false },
  env: {},
  stdin: Readable.from([]),
};

/** The `name=value` pairs of the Configuration line. */
function configuration(stderr: string): Record<string, string> {
  const line = /^Configuration: (.*)$/m.exec(stderr)?.[1];
  if (line === undefined) throw new Error(`no Configuration line in:\n${stderr}`);
  return Object.fromEntries(line.split(' ').map((pair) => pair.split('=', 2) as [string, string]));
}

const postgres = await requireService('PostgreSQL', 5432);

describe('serve configuration', () => {
  it('gives every serve flag a KEYWARD_* variable (--db: KEYWARD_DATABASE_URL)', () => {
    const serve = buildProgram(io).commands.find((c) => c.name() === 'serve')!;
    const missing = serve.options
      .filter((o) => o.long !== '--help' && o.long !== '--db')
      .filter((o) => !o.envVar?.startsWith('KEYWARD_'))
      .map((o) => o.long);
    expect(missing).toEqual([]);
    expect(serve.options.find((o) => o.long === '--db')!.description).toContain('$KEYWARD_DATABASE_URL');
  });

  it('reads the variables in a real process and prints the effective configuration', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const cli = runCli(['serve'], {
      KEYWARD_API_KEYS: 'a-static-key-for-the-config-test-0123456789',
      KEYWARD_PORT: String(port),
      PORT: '1', // KEYWARD_PORT wins
      KEYWARD_HOST: '127.0.0.1',
      KEYWARD_METRICS_PORT: String(metricsPort),
      KEYWARD_LOG_LEVEL: 'silent',
      KEYWARD_RATE_LIMIT: '2/1m',
      KEYWARD_AUTH_FAILURE_LIMIT: '5/1h',
      KEYWARD_TRUST_PROXY: '10.0.0.0/8',
      KEYWARD_REDIS_FAIL_MODE: 'open',
      KEYWARD_REDIS_PREFIX: 'team-a:rl',
      KEYWARD_USAGE_FLUSH: '2s',
      KEYWARD_CACHE_TTL: '30s',
      KEYWARD_HEADERS_TIMEOUT: '3s',
      KEYWARD_REQUEST_TIMEOUT: '20s',
      KEYWARD_KEEP_ALIVE_TIMEOUT: '4s',
      KEYWARD_MAX_CONNECTIONS: '500',
      KEYWARD_READY_TIMEOUT: '2s',
      KEYWARD_SHUTDOWN_TIMEOUT: '7s',
    });
    await cli.waitFor(/^Configuration: /m);
    const config = configuration(cli.stderr());
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: String(port),
      'usage-flush': '2s',
      'cache-ttl': '30s',
      'rate-limit': '2/60s',
      'auth-failure-limit': '5/3600s',
      'trust-proxy': '10.0.0.0/8',
      redis: 'off',
      'redis-prefix': 'team-a:rl',
      'redis-fail-mode': 'open',
      'headers-timeout': '3s',
      'request-timeout': '20s',
      'keep-alive-timeout': '4s',
      'max-connections': '500',
      'log-level': 'silent',
      metrics: `127.0.0.1:${metricsPort}`,
      'ready-timeout': '2s',
      'shutdown-timeout': '7s',
    });
    const base = `http://127.0.0.1:${port}`;
    const key = { 'X-API-Key': 'a-static-key-for-the-config-test-0123456789' };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${base}/secure-data`, { headers: key })).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    expect(await stop(cli)).toBe(0);
    // --log-level silent: no request log at all.
    expect(cli.stdout()).toBe('');
  });

  it('falls back to $PORT, and refuses a bad variable as a usage error naming it', async () => {
    const port = await freePort();
    const cli = runCli(['serve'], {
      KEYWARD_API_KEYS: 'a-static-key-for-the-config-test-0123456789',
      PORT: String(port),
    });
    await cli.waitFor(/^Configuration: /m);
    expect(configuration(cli.stderr()).port).toBe(String(port));
    expect(await stop(cli)).toBe(0);
    const bad = runCli(['serve'], { KEYWARD_CACHE_TTL: 'forever' });
    expect(await bad.exited()).toBe(2);
    expect(bad.stderr()).toMatch(/KEYWARD_CACHE_TTL/);
  });

  it.skipIf(!postgres)(
    'never prints the pepper nor the passwords of the database and Redis URLs',
    async () => {
      const { url } = isolatedDatabase(PG_URL, 'config');
      const withPassword = new URL(url);
      withPassword.username = 'postgres';
      withPassword.password = 'db-s3cret-pw';
      const cli = runCli(['serve', '--port', '0'], {
        KEYWARD_DATABASE_URL: withPassword.toString(),
        KEYWARD_PEPPER: PEPPER,
        KEYWARD_REDIS_URL: 'redis://keyward:redis-s3cret-pw@127.0.0.1:1',
      });
      await cli.waitFor(/^Configuration: /m);
      const config = configuration(cli.stderr());
      expect(config.db).toMatch(/^postgres:\/\/127\.0\.0\.1:5432\/test$/);
      expect(config.redis).toBe('redis://127.0.0.1:1');
      expect(config['redis-prefix']).toBe('keyward:rl');
      // --port 0: the port as bound.
      expect(cli.stderr()).toContain(`listening on http://127.0.0.1:${config.port} `);
      expect(await stop(cli)).toBe(0);
      const output = cli.stdout() + cli.stderr();
      for (const secret of ['db-s3cret-pw', 'redis-s3cret-pw', PEPPER]) expect(output).not.toContain(secret);
    },
  );
});
