// POST /v1/revoke on a real `keyward serve`: whoever holds a key revokes it, and the
// answer says nothing about whether a key existed.
import { join } from 'node:path';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEPPER, tempDir } from '../keys/temp.js';
import { type Child, spawnCli } from './run.js';

const dir = tempDir('keyward-revoke-');
const db = join(dir, 'keyward.db');
let serve: Child;
let url: string;
let manager: KeyManager;
let client = 0;

/** A request from its own client address (serve trusts X-Forwarded-For from 127.0.0.1). */
function revoke(body: string, type: string, from = `198.51.100.${++client}`) {
  return fetch(`${url}/v1/revoke`, {
    method: 'POST',
    headers: { 'content-type': type, 'x-forwarded-for': from },
    body,
  });
}
const form = (key: string, from?: string) =>
  revoke(
    new URLSearchParams({ token: key, token_type_hint: 'api_key' }).toString(),
    'application/x-www-form-urlencoded',
    from,
  );
const status = async (key: string) =>
  (await fetch(`${url}/secure-data`, { headers: { 'X-API-Key': key } })).status;

beforeAll(async () => {
  manager = await openKeyManager({ database: db, pepper: PEPPER, pollIntervalMs: 0 });
  await manager.create({ name: 'first' });
  serve = spawnCli(
    [
      'serve',
      '--port',
      '0',
      '--db',
      db,
      '--trust-proxy',
      '127.0.0.1',
      '--revoke-limit',
      '5/1m',
      '--log-level',
      'silent',
    ],
    { KEYWARD_PEPPER: PEPPER },
  );
  [, url] = (await serve.waitFor(/listening on (http:\/\/\S+)/)) as [string, string];
});

afterAll(async () => {
  if (serve && serve.child.exitCode === null) serve.child.kill('SIGKILL');
  await manager?.close();
});

describe('POST /v1/revoke', () => {
  it('revokes a key presented as an RFC 7009 form or as JSON, audited as its holder', async () => {
    const a = await manager.create({ name: 'form' });
    const b = await manager.create({ name: 'json' });
    expect(await status(a.key)).toBe(200);
    const byForm = await form(a.key);
    expect(byForm.status).toBe(200);
    expect(byForm.headers.get('cache-control')).toBe('no-store');
    expect(await byForm.text()).toBe('{}');
    const byJson = await revoke(JSON.stringify({ key: b.key }), 'application/json');
    expect(byJson.status).toBe(200);
    expect(await status(a.key)).toBe(401);
    expect(await status(b.key)).toBe(401);
    const [entry] = await manager.audit({ keyId: a.record.id, limit: 1 });
    expect(entry).toMatchObject({ action: 'revoke', actor: 'key-holder' });
    expect(serve.output().stderr).toMatch(
      new RegExp(`key ${a.record.id} \\(kw_\\w{4}…\\) revoked by its holder from 198\\.51\\.100\\.\\d+`),
    );
    expect(serve.output().stderr).not.toContain(a.key);
  });

  it('answers a live, a revoked, an unknown and a malformed key alike, after the same minimum time', async () => {
    const live = await manager.create({ name: 'timing' });
    const revoked = await manager.create({ name: 'gone' });
    await manager.revoke(revoked.record.id);
    const cases = [live.key, revoked.key, manager.format.generate(), 'kw_not-a-key', 'x'.repeat(100)];
    const answers: { status: number; body: string; headers: string; ms: number }[] = [];
    for (const key of cases) {
      const started = performance.now();
      const res = await form(key);
      const body = await res.text();
      const headers = [...res.headers.entries()]
        .filter(([name]) => !['date', 'x-request-id'].includes(name))
        .map(([n, v]) => `${n}: ${v}`)
        .join('\n');
      answers.push({ status: res.status, body, headers, ms: performance.now() - started });
    }
    for (const a of answers) {
      expect({ status: a.status, body: a.body, headers: a.headers }).toEqual({
        status: 200,
        body: '{}',
        headers: answers[0]!.headers,
      });
      expect(a.ms).toBeGreaterThanOrEqual(245);
    }
    expect(await status(live.key)).toBe(401);
  });

  it('refuses a request naming no key (400) or an oversized body (413), revoking nothing', async () => {
    const kept = await manager.create({ name: 'kept' });
    expect((await revoke('token_type_hint=api_key', 'application/x-www-form-urlencoded')).status).toBe(400);
    expect((await revoke('{"nope":1}', 'application/json')).status).toBe(400);
    expect((await revoke(`token=${kept.key}`, 'text/plain')).status).toBe(400);
    expect(
      (await revoke(`token=${kept.key}&pad=${'x'.repeat(5000)}`, 'application/x-www-form-urlencoded')).status,
    ).toBe(413);
    expect(await status(kept.key)).toBe(200);
  });

  it('limits requests per address: the sixth within a minute gets 429 before any lookup', async () => {
    const from = '203.0.113.77';
    for (let i = 0; i < 5; i++) expect((await form(manager.format.generate(), from)).status).toBe(200);
    const key = (await manager.create({ name: 'limited' })).key;
    const refused = await form(key, from);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await status(key)).toBe(200);
    // Another address is not affected.
    expect((await form(key, '203.0.113.78')).status).toBe(200);
    expect(await status(key)).toBe(401);
  });
});
