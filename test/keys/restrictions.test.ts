import { KeyInputError, type KeyManager } from '@keyward/keys';
import { type AuthResult, apiKeyHeader, createGuard, type KeySource, rateLimits } from 'keyward';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryManager } from './fixtures.js';

let open: KeyManager[] = [];
async function setup() {
  const s = await memoryManager();
  open.push(s.manager);
  return s;
}
afterEach(async () => {
  await Promise.all(open.map((m) => m.close()));
  open = [];
});

function request(key: string, peer: string, method = 'GET', path = '/reports/1'): KeySource {
  return {
    header: (name) => (name === 'x-api-key' ? key : undefined),
    query: () => '',
    peer: () => peer,
    method: () => method,
    path: () => path,
  };
}
const code = async (r: AuthResult<unknown> | Promise<AuthResult<unknown>>) => {
  const result = await r;
  return result.ok ? 'ok' : result.failure.code;
};

describe('KeyManager restrictions', () => {
  it('stores restrictions in canonical form, given as lists or comma-separated text', async () => {
    const { manager } = await setup();
    const { record } = await manager.create({
      name: 'browser',
      ipAllow: '10.0.0.0/8, 2001:DB8::/32,10.0.0.0/8',
      originAllow: ['HTTPS://App.Example.com/'],
      routes: 'get /reports/*,POST /jobs',
    });
    expect(record.restrictions).toEqual({
      ipAllow: ['10.0.0.0/8', '2001:db8::/32'],
      originAllow: ['https://app.example.com'],
      routes: ['GET /reports/*', 'POST /jobs'],
    });
    const [entry] = await manager.audit({ keyId: record.id });
    expect(entry!.changes['restrictions']).toEqual(record.restrictions);
    expect((await manager.create({ name: 'open' })).record.restrictions).toBeNull();
  });

  it('refuses malformed restrictions at create and update with a clear error, storing nothing', async () => {
    const { manager } = await setup();
    const bad = async (settings: Record<string, unknown>) =>
      (await manager.create({ name: 'x', ...settings }).catch((e: unknown) => e)) as Error;
    expect(await bad({ ipAllow: '10.0.0.0/33' })).toBeInstanceOf(KeyInputError);
    expect((await bad({ ipAllow: '10.0.0.0/33' })).message).toMatch(/bad prefix length in "10.0.0.0\/33"/);
    expect((await bad({ ipAllow: '10.1.2.3/8' })).message).toMatch(/did you mean 10.0.0.0\/8/);
    expect((await bad({ ipAllow: 'not-an-ip' })).message).toMatch(/not an IP address or CIDR range/);
    expect((await bad({ originAllow: 'app.example.com' })).message).toMatch(/is not an origin/);
    expect((await bad({ routes: 'GET reports' })).message).toMatch(/must start with \//);
    expect((await bad({ ipAllow: 42 })).message).toMatch(/list of strings/);
    expect((await manager.list()).items).toEqual([]);
    const { record } = await manager.create({ name: 'ok' });
    await expect(
      Promise.resolve().then(() => manager.update(record.id, { routes: ['DELETE /x/../y'] })),
    ).rejects.toThrow(KeyInputError);
  });

  it('updates kinds one at a time, and lifts them with null or an empty list', async () => {
    const { manager } = await setup();
    const { record } = await manager.create({ name: 'k', ipAllow: '10.0.0.0/8' });
    const both = await manager.update(record.id, { routes: 'POST /jobs' });
    expect(both.restrictions).toEqual({ ipAllow: ['10.0.0.0/8'], routes: ['POST /jobs'] });
    expect((await manager.update(record.id, { ipAllow: null })).restrictions).toEqual({
      routes: ['POST /jobs'],
    });
    expect((await manager.update(record.id, { routes: '' })).restrictions).toBeNull();
  });

  it('hands the guard a principal whose restrictions it checks before rate limits; rotation keeps them', async () => {
    const { manager } = await setup();
    const { key, record } = await manager.create({
      name: 'k',
      ipAllow: ['203.0.113.0/24', '::ffff:198.51.100.0/120'],
      routes: ['GET /reports/*'],
      rateLimit: '2/1m',
    });
    const guard = createGuard({
      schemes: apiKeyHeader({ name: 'X-API-Key' }),
      verify: manager.verifier(),
      limits: rateLimits(),
    });
    for (let i = 0; i < 5; i++)
      expect(await code(guard.authenticate(request(key, '192.0.2.1')))).toBe('restricted');
    expect(await code(guard.authenticate(request(key, '203.0.113.4', 'POST')))).toBe('restricted');
    const outside = await guard.authenticate(request(key, '192.0.2.1'));
    expect(!outside.ok && outside.failure.keyId).toBe(record.id);
    // None of the refusals took from the key's budget of 2.
    expect(await code(guard.authenticate(request(key, '203.0.113.4')))).toBe('ok');
    expect(await code(guard.authenticate(request(key, '::ffff:198.51.100.9')))).toBe('ok');
    expect(await code(guard.authenticate(request(key, '203.0.113.4')))).toBe('rate_limited');

    const check = await manager.check(key, { dryRun: true });
    expect(JSON.parse(JSON.stringify(check.principal))).toMatchObject({ restrictions: record.restrictions });

    const rotated = await manager.rotate(record.id, { grace: 0 });
    expect(rotated.record.restrictions).toEqual(record.restrictions);
    expect(await code(guard.authenticate(request(rotated.key, '192.0.2.1')))).toBe('restricted');
  });

  it('applies a change to the restrictions at the next request', async () => {
    const { manager } = await setup();
    const { key, record } = await manager.create({ name: 'k', ipAllow: '203.0.113.0/24' });
    const guard = createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: manager.verifier() });
    expect(await code(guard.authenticate(request(key, '192.0.2.1')))).toBe('restricted');
    await manager.update(record.id, { ipAllow: '192.0.2.0/24' });
    expect(await code(guard.authenticate(request(key, '192.0.2.1')))).toBe('ok');
    await manager.update(record.id, { ipAllow: null });
    expect(await code(guard.authenticate(request(key, '198.51.100.1')))).toBe('ok');
  });

  it('refuses malformed owner restrictions with a clear error, creating nothing', async () => {
    const { manager } = await setup();
    const bad = async (settings: Record<string, unknown>) =>
      (await manager.createOwner({ name: 'acme', ...settings }).catch((e: unknown) => e)) as Error;
    expect(await bad({ ipAllow: '10.1.2.3/8' })).toBeInstanceOf(KeyInputError);
    expect((await bad({ ipAllow: '10.1.2.3/8' })).message).toMatch(/did you mean 10.0.0.0\/8/);
    expect((await bad({ originAllow: 'app.example.com' })).message).toMatch(/is not an origin/);
    expect((await bad({ routes: 'GET reports' })).message).toMatch(/must start with \//);
    expect((await manager.listOwners({})).items).toEqual([]);
    await manager.createOwner({ name: 'acme', ipAllow: '10.0.0.0/8' });
    await expect(manager.updateOwner('acme', { routes: ['DELETE /x/../y'] })).rejects.toThrow(KeyInputError);
    expect((await manager.getOwner('acme')).restrictions).toEqual({ ipAllow: ['10.0.0.0/8'] });
  });

  it("refuses a key outside its owner's restrictions, and outside its own, with the same 403", async () => {
    const { manager } = await setup();
    await manager.createOwner({ name: 'acme', ipAllow: '203.0.113.0/24' });
    const { key, record } = await manager.create({ name: 'k', owner: 'acme', routes: 'GET /reports/*' });
    const { key: free } = await manager.create({ name: 'free', owner: 'acme' });
    const guard = createGuard({
      schemes: apiKeyHeader({ name: 'X-API-Key' }),
      verify: manager.verifier(),
      limits: rateLimits(),
    });
    // The owner's range: refused from outside it, whatever the key allows.
    const outside = await guard.authenticate(request(key, '192.0.2.1'));
    expect(!outside.ok && outside.failure.code).toBe('restricted');
    expect(!outside.ok && outside.failure.keyId).toBe(record.id);
    expect(await code(guard.authenticate(request(free, '192.0.2.1')))).toBe('restricted');
    // Inside the owner's range, the key's own routes still apply.
    expect(await code(guard.authenticate(request(key, '203.0.113.7')))).toBe('ok');
    expect(await code(guard.authenticate(request(key, '203.0.113.7', 'POST', '/jobs')))).toBe('restricted');
    expect(await code(guard.authenticate(request(free, '203.0.113.7', 'POST', '/jobs')))).toBe('ok');
    // The principal is the same object on every request: combined once per snapshot.
    const a = await manager.check(key, { dryRun: true });
    const b = await manager.check(key, { dryRun: true });
    expect(a.principal!.restrictions).not.toBeNull();
    expect(a.principal!.restrictions).toBe(b.principal!.restrictions);

    // Changing the owner's restrictions applies at the next request; lifting them lets it through.
    await manager.updateOwner('acme', { ipAllow: '192.0.2.0/24' });
    expect(await code(guard.authenticate(request(key, '192.0.2.1')))).toBe('ok');
    expect(await code(guard.authenticate(request(key, '203.0.113.7')))).toBe('restricted');
    await manager.updateOwner('acme', { ipAllow: null });
    expect(await code(guard.authenticate(request(free, '198.51.100.1', 'POST', '/jobs')))).toBe('ok');
    expect(await code(guard.authenticate(request(key, '198.51.100.1')))).toBe('ok');
    expect(await code(guard.authenticate(request(key, '198.51.100.1', 'POST', '/jobs')))).toBe('restricted');
    // Only the owner restricting: its restrictions alone are the principal's.
    await manager.updateOwner('acme', { originAllow: 'https://app.example.com' });
    const onlyOwner = await manager.check(free, { dryRun: true });
    expect(JSON.parse(JSON.stringify(onlyOwner.principal))).toMatchObject({
      restrictions: { originAllow: ['https://app.example.com'] },
    });
    expect(await code(guard.authenticate(request(free, '198.51.100.1')))).toBe('restricted');
  });
});
