// Owner restrictions over real HTTP: `keyward owners create|update --ip-allow/--origin-allow/
// --routes` in one process, a spawned `keyward serve` on SQLite answering in another. A key
// of an owner must pass its owner's restrictions and its own.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../helpers/spawn.js';
import { PEPPER, tempDir } from '../keys/temp.js';
import { cli, type Instance, sleep } from '../scale/helpers.js';

const RESTRICTED = '{"detail":"API key not allowed here"}';
const dir = tempDir('keyward-owner-restrict-');
const env = { KEYWARD_DATABASE_URL: join(dir, 'keyward.db'), KEYWARD_PEPPER: PEPPER };
// 127.0.0.1 is a trusted proxy: X-Forwarded-For names the client, as behind a load balancer.
let serve: Instance;

async function run(...args: string[]) {
  const r = await cli(args, env);
  if (r.code !== 0) throw new Error(`keyward ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
async function keyOf(owner: string, ...flags: string[]) {
  const out = await run('keys', 'create', '--name', 'k', '--owner', owner, '--json', ...flags);
  return (JSON.parse(out) as { key: string }).key;
}
async function call(key: string, client: string, path = '/secure-data') {
  const res = await fetch(serve.url + path, { headers: { 'X-API-Key': key, 'X-Forwarded-For': client } });
  return { status: res.status, body: await res.text() };
}
/** The status once the running server has heard of a change (its change feed), or the last one seen. */
async function eventually(status: number, request: () => Promise<{ status: number }>) {
  let seen = 0;
  for (let i = 0; i < 50; i++) {
    seen = (await request()).status;
    if (seen === status) break;
    await sleep(100);
  }
  return seen;
}

beforeAll(async () => {
  // A first key creates the store; serve then finds it.
  await run('keys', 'create', '--name', 'seed');
  await run('owners', 'create', 'first');
  serve = await startServe(['--trust-proxy', '127.0.0.1', '--usage-flush', '1s'], env);
}, 60_000);
afterAll(async () => {
  await serve?.stop();
});

describe('owner restrictions over HTTP on SQLite', () => {
  it("refuses an owner's keys outside its address range, lets them in from inside, and lifting lets them through", async () => {
    const created = JSON.parse(
      await run('owners', 'create', 'acme', '--ip-allow', '203.0.113.0/24,2001:DB8::/32', '--json'),
    ) as { restrictions: unknown };
    expect(created.restrictions).toEqual({ ipAllow: ['203.0.113.0/24', '2001:db8::/32'] });
    expect(await run('owners', 'show', 'acme')).toMatch(/ip allow:\s+203\.0\.113\.0\/24, 2001:db8::\/32/);
    const key = await keyOf('acme');
    expect(await call(key, '198.51.100.1')).toEqual({ status: 403, body: RESTRICTED });
    expect(await call(key, '2001:db9::1')).toEqual({ status: 403, body: RESTRICTED });
    expect(await call(key, '203.0.113.7')).toMatchObject({ status: 200 });
    expect(await call(key, '2001:db8:1::9')).toMatchObject({ status: 200 });

    const lifted = JSON.parse(await run('owners', 'update', 'acme', '--no-ip-allow', '--json')) as {
      restrictions: unknown;
    };
    expect(lifted.restrictions).toBeNull();
    expect(await eventually(200, () => call(key, '198.51.100.1'))).toBe(200);
    const [entry] = (
      JSON.parse(await run('audit', '--limit', '1', '--json')) as {
        entries: { action: string; changes: Record<string, unknown> }[];
      }
    ).entries;
    expect(entry).toMatchObject({
      action: 'owner_update',
      changes: {
        owner: 'acme',
        restrictions: { from: { ipAllow: ['203.0.113.0/24', '2001:db8::/32'] }, to: null },
      },
    });
  }, 60_000);

  it("applies both the owner's and the key's restrictions, and the owner's routes", async () => {
    await run('owners', 'create', 'both', '--ip-allow', '203.0.113.0/24');
    const narrow = await keyOf('both', '--ip-allow', '203.0.113.0/25');
    const wide = await keyOf('both', '--ip-allow', '0.0.0.0/0');
    expect(await call(narrow, '203.0.113.5')).toMatchObject({ status: 200 });
    // Inside the owner's range, outside the key's.
    expect(await call(narrow, '203.0.113.200')).toEqual({ status: 403, body: RESTRICTED });
    // Inside the key's range, outside the owner's.
    expect(await call(wide, '198.51.100.1')).toEqual({ status: 403, body: RESTRICTED });
    expect(await call(wide, '203.0.113.200')).toMatchObject({ status: 200 });

    await run('owners', 'update', 'both', '--routes', 'GET /secure-data');
    expect(await eventually(403, () => call(wide, '203.0.113.200', '/expensive-data'))).toBe(403);
    expect(await call(wide, '203.0.113.200')).toMatchObject({ status: 200 });
    // The address range stayed: an update changes only the kinds it names.
    expect(await call(wide, '198.51.100.1')).toEqual({ status: 403, body: RESTRICTED });

    await run('owners', 'update', 'both', '--no-restrictions');
    expect(await eventually(200, () => call(wide, '198.51.100.1', '/expensive-data'))).toBe(200);
    // The key's own restriction is untouched by its owner's.
    expect(await call(narrow, '203.0.113.200')).toEqual({ status: 403, body: RESTRICTED });
  }, 60_000);

  it('refuses malformed owner restrictions at parse time, creating nothing; reads them from env on create', async () => {
    const bad = await cli(['owners', 'create', 'bad', '--ip-allow', '10.1.2.3/8'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/did you mean 10\.0\.0\.0\/8/);
    expect((await cli(['owners', 'show', 'bad'], env)).code).not.toBe(0);
    const route = await cli(['owners', 'update', 'first', '--routes', 'GET reports'], env);
    expect(route.code).toBe(2);
    expect(route.stderr).toMatch(/must start with \//);

    const fromEnv = await cli(['owners', 'create', 'browser', '--json'], {
      ...env,
      KEYWARD_OWNER_ORIGIN_ALLOW: 'https://App.Example.com',
    });
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({
      restrictions: { originAllow: ['https://app.example.com'] },
    });
    const key = await keyOf('browser');
    expect(await call(key, '203.0.113.1')).toEqual({ status: 403, body: RESTRICTED });
    const res = await fetch(`${serve.url}/secure-data`, {
      headers: { 'X-API-Key': key, Origin: 'https://app.example.com' },
    });
    expect(res.status).toBe(200);
  }, 60_000);
});
