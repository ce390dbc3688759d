// GitHub secret scanning against a real `keyward serve` on SQLite: payloads signed with
// locally generated ECDSA P-256 keys published in GitHub's format.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEPPER, tempDir } from '../keys/temp.js';
import { type Child, spawnCli } from './run.js';

const dir = tempDir('keyward-scanning-');
const db = join(dir, 'keyward.db');
const env = { KEYWARD_PEPPER: PEPPER, KEYWARD_KEY_PREFIX: 'acme' };
const ROUTE = '/v1/secret-scanning/github';
const ID = 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c';
const OTHER_ID = '90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a';

const pair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const github = pair();
const rotated = pair();
const stranger = pair();

let serve: Child;
let url: string;
let manager: KeyManager;

const signed = (body: string, key: KeyObject = github.privateKey) =>
  sign('sha256', Buffer.from(body), { key, dsaEncoding: 'der' }).toString('base64');

function post(body: string, headers: Record<string, string> = {}) {
  return fetch(url + ROUTE, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'github-public-key-identifier': ID,
      'github-public-key-signature': signed(body),
      ...headers,
    },
    body,
  });
}

const payload = (tokens: readonly string[], where = 'https://github.com/octo/app/blob/f00/.env') =>
  JSON.stringify(tokens.map((token) => ({ token, type: 'acme_api_key', url: where, source: 'content' })));
const status = async (key: string) =>
  (await fetch(`${url}/secure-data`, { headers: { 'X-API-Key': key } })).status;

beforeAll(async () => {
  const keys = join(dir, 'github-keys.json');
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
  writeFileSync(
    keys,
    JSON.stringify({
      public_keys: [
        { key_identifier: ID, key: spki(github.publicKey), is_current: true },
        { key_identifier: OTHER_ID, key: spki(rotated.publicKey), is_current: false },
      ],
    }),
  );
  manager = await openKeyManager({ database: db, pepper: PEPPER, prefix: 'acme', pollIntervalMs: 0 });
  await manager.create({ name: 'first' });
  serve = spawnCli(
    ['serve', '--port', '0', '--db', db, '--github-scanning-keys', keys, '--log-level', 'silent'],
    env,
  );
  [, url] = (await serve.waitFor(/listening on (http:\/\/\S+)/)) as [string, string];
  await serve.waitFor(/GitHub secret scanning: POST/);
});

afterAll(async () => {
  if (serve && serve.child.exitCode === null) serve.child.kill('SIGKILL');
  await manager?.close();
});

describe('POST /v1/secret-scanning/github', () => {
  it('answers each token, revokes the live key at once and audits where it was found', async () => {
    const live = await manager.create({ name: 'leaked' });
    const bystander = await manager.create({ name: 'bystander' });
    expect(await status(live.key)).toBe(200);
    const unknown = manager.format.generate();
    const lookAlike = `acme_${'x'.repeat(38)}`;
    const res = await post(payload([live.key, unknown, lookAlike]));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual([
      { token_raw: live.key, token_type: 'acme_api_key', label: 'true_positive' },
      { token_raw: unknown, token_type: 'acme_api_key', label: 'false_positive' },
      { token_raw: lookAlike, token_type: 'acme_api_key', label: 'false_positive' },
    ]);
    // Refused by the instance that got the report on the very next request.
    expect(await status(live.key)).toBe(401);
    expect(await status(bystander.key)).toBe(200);
    const [entry] = await manager.audit({ keyId: live.record.id, limit: 1 });
    expect(entry).toMatchObject({
      action: 'leak',
      actor: 'github-secret-scanning',
      detail: { url: 'https://github.com/octo/app/blob/f00/.env', source: 'content', type: 'acme_api_key' },
    });
    expect(serve.output().stderr).toContain(`found key ${live.record.id}`);
    expect(serve.output().stderr).not.toContain(live.key);
  });

  it('accepts a signature by any published key (GitHub rotates them)', async () => {
    const live = await manager.create({ name: 'rotated' });
    const body = payload([live.key]);
    const res = await post(body, {
      'github-public-key-identifier': OTHER_ID,
      'github-public-key-signature': signed(body, rotated.privateKey),
    });
    expect(res.status).toBe(200);
    expect(await status(live.key)).toBe(401);
  });

  it('refuses tampered, unsigned, wrongly signed and oversized payloads, touching nothing', async () => {
    const live = await manager.create({ name: 'untouched' });
    const before = (await manager.audit({ limit: 1000 })).length;
    const body = payload([live.key]);
    const tampered = body.replace('octo/app', 'octo/apq');
    const refusals = [
      // Signed, then changed on the way.
      post(tampered, { 'github-public-key-signature': signed(body) }),
      // An identifier GitHub never published.
      post(body, { 'github-public-key-identifier': 'f'.repeat(64) }),
      // Signed by someone else's key under GitHub's identifier.
      post(body, { 'github-public-key-signature': signed(body, stranger.privateKey) }),
      // The right signature under the other published key's identifier.
      post(body, { 'github-public-key-identifier': OTHER_ID }),
      // Not base64 DER at all.
      post(body, { 'github-public-key-signature': 'bm90IGEgc2lnbmF0dXJl' }),
      fetch(url + ROUTE, { method: 'POST', body }),
    ];
    for (const res of await Promise.all(refusals)) {
      expect(res.status).toBe(401);
      expect(await res.json()).toHaveProperty('detail');
    }
    const huge = `[${' '.repeat(1024 * 1024)}]`;
    expect((await post(huge)).status).toBe(413);
    // Signed but not GitHub's shape: 400, after the signature.
    expect((await post('{"token":"x"}')).status).toBe(400);
    expect(await status(live.key)).toBe(200);
    expect((await manager.audit({ limit: 1000 })).length).toBe(before);
  });

  it('answers a replay the same and writes nothing more', async () => {
    const live = await manager.create({ name: 'replayed' });
    const body = payload([live.key]);
    const signature = signed(body);
    const first = await (await post(body, { 'github-public-key-signature': signature })).json();
    const entries = (await manager.audit({ limit: 1000 })).length;
    const again = await (await post(body, { 'github-public-key-signature': signature })).json();
    expect(again).toEqual(first);
    expect((await manager.audit({ limit: 1000 })).length).toBe(entries);
  });

  it('processes 1,000 leaked keys in one payload in under 2 seconds', async () => {
    const keys = Array.from({ length: 1000 }, () => manager.format.generate());
    await manager.importKeys(keys.map((key) => ({ key })));
    const body = payload(keys, 'https://github.com/octo/app/blob/bulk/keys.txt');
    const started = performance.now();
    const res = await post(body);
    const verdicts = (await res.json()) as { label: string }[];
    const elapsed = performance.now() - started;
    console.log(`secret scanning: 1,000 true positives (SQLite) processed in ${elapsed.toFixed(0)} ms`);
    expect(res.status).toBe(200);
    expect(verdicts.filter((v) => v.label === 'true_positive')).toHaveLength(1000);
    expect(elapsed).toBeLessThan(2000);
    for (const key of keys.slice(0, 20)) expect(await status(key)).toBe(401);
  });
});
