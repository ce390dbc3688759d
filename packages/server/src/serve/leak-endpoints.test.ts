// Hostile input against the leak endpoints, in-process: every answer is a 4xx or 200, never a 500.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyManager, MemoryKeyStore } from '@keyward/keys';
import { rateLimits } from 'keyward';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoApp } from './app.js';
import { GithubKeys } from './github-keys.js';
import { mountRevoke } from './revoke.js';
import { mountSecretScanning } from './secret-scanning.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-leak-endpoints-'));
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
let manager: KeyManager;
let app: ReturnType<typeof createDemoApp>;

beforeAll(async () => {
  const file = join(dir, 'keys.json');
  const key = publicKey.export({ type: 'spki', format: 'pem' });
  writeFileSync(file, JSON.stringify({ public_keys: [{ key_identifier: 'k1', key, is_current: true }] }));
  manager = await KeyManager.open({ store: new MemoryKeyStore(), pollIntervalMs: 0, flushIntervalMs: 0 });
  const keys = await GithubKeys.open({ source: file });
  // No peer address in-process: limits that need none.
  const limits = rateLimits<unknown>({});
  app = createDemoApp({
    verify: manager.verifier(),
    mount: (a) => {
      mountSecretScanning(a, { manager, keys });
      mountRevoke(a, { manager, limits });
    },
  });
});
afterAll(async () => {
  await manager.close();
  rmSync(dir, { recursive: true, force: true });
});

const signed = (body: Uint8Array | string) =>
  sign('sha256', Buffer.from(body), { key: privateKey, dsaEncoding: 'der' }).toString('base64');
const scanning = (body: BodyInit, headers: Record<string, string> = {}) =>
  app.request('/v1/secret-scanning/github', { method: 'POST', body, headers });

describe('hostile input to the leak endpoints', () => {
  it('answers signed bodies that are not matches with 400, and odd matches without failing', async () => {
    const bodies = [
      '',
      'null',
      '[]',
      '[null]',
      '[1,2]',
      '[{"token":1,"type":"x"}]',
      '[{"token":"x"}]',
      '{"__proto__":{"a":1}}',
      Buffer.from([0xff, 0xfe, 0x00, 0x5b]).toString('latin1'),
      `[${'['.repeat(5000)}${']'.repeat(5000)}]`,
    ];
    for (const body of bodies) {
      const res = await scanning(body, {
        'github-public-key-identifier': 'k1',
        'github-public-key-signature': signed(body),
      });
      expect(res.status, body.slice(0, 20)).toBe(body === '[]' ? 200 : 400);
    }
    const odd = JSON.stringify([
      { token: '', type: '' },
      { token: 'kw_'.padEnd(41, '\u0000'), type: 'x'.repeat(10_000), url: 5, source: { a: 1 } },
      { token: '\ud800', type: 'x', url: '\u202e' },
    ]);
    const res = await scanning(odd, {
      'github-public-key-identifier': 'k1',
      'github-public-key-signature': signed(odd),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { label: string }[]).map((v) => v.label)).toEqual([
      'false_positive',
      'false_positive',
      'false_positive',
    ]);
  });

  it('refuses odd signature headers with 401 and a streamed oversized body with 413', async () => {
    for (const signature of ['', '====', '*'.repeat(100), 'A'.repeat(5000), signed('other')]) {
      const res = await scanning('[]', {
        'github-public-key-identifier': 'k1',
        'github-public-key-signature': signature,
      });
      expect(res.status).toBe(401);
    }
    const res = await scanning('[]', {
      'github-public-key-identifier': 'k1'.repeat(200),
      'github-public-key-signature': signed('[]'),
    });
    expect(res.status).toBe(401);
    // No Content-Length: refused once 1 MiB has come.
    const chunk = new Uint8Array(64 * 1024).fill(32);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 40) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const big = await app.request('/v1/secret-scanning/github', {
      method: 'POST',
      body: stream,
      headers: { 'github-public-key-identifier': 'k1', 'github-public-key-signature': signed('[]') },
      duplex: 'half',
    } as RequestInit);
    expect(big.status).toBe(413);
    expect(sent).toBeLessThan(40);
  });

  it('answers revoke requests of any shape with 200, 400 or 413, never more', async () => {
    const cases: [string, string | undefined][] = [
      ['token=', 'application/x-www-form-urlencoded'],
      ['token=%ZZ', 'application/x-www-form-urlencoded'],
      ['token=a&token=b', undefined],
      ['{"key":{"a":1}}', 'application/json'],
      ['[', 'application/json; charset=utf-8'],
      ['{"key":"kw_x"}', 'APPLICATION/JSON'],
      [`token=${'x'.repeat(5000)}`, 'application/x-www-form-urlencoded'],
    ];
    for (const [body, type] of cases) {
      const res = await app.request('/v1/revoke', {
        method: 'POST',
        body,
        headers: type ? { 'content-type': type } : {},
      });
      expect([200, 400, 413], `${body.slice(0, 20)} ${type}`).toContain(res.status);
    }
  });
});
