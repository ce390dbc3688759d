import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeywardConfigError } from 'keyward';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GithubKeys, parseGithubKeys, REFETCH_INTERVAL_MS } from './github-keys.js';

const pem = () =>
  generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
    type: 'spki',
    format: 'pem',
  }) as string;
const doc = (...ids: string[]) =>
  JSON.stringify({
    public_keys: ids.map((id, i) => ({ key_identifier: id, key: pem(), is_current: i === 0 })),
  });

const dir = mkdtempSync(join(tmpdir(), 'keyward-github-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** A key server whose document and status the test changes; counts requests. */
async function keyServer(state: { body: string; status: number; hits: number }) {
  server = createServer((_req, res) => {
    state.hits++;
    res.writeHead(state.status, { 'content-type': 'application/json' }).end(state.body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`;
}

describe('GitHub scanning keys', () => {
  it("keeps only ECDSA P-256 keys from GitHub's document and refuses one without any", () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const keys = parseGithubKeys(
      JSON.stringify({
        public_keys: [
          { key_identifier: 'ec', key: pem(), is_current: true },
          { key_identifier: 'rsa', key: rsa, is_current: false },
          { key_identifier: 'junk', key: 'not a key' },
        ],
      }),
    );
    expect([...keys.keys()]).toEqual(['ec']);
    expect(() => parseGithubKeys('{"public_keys":[]}')).toThrow(KeywardConfigError);
    expect(() => parseGithubKeys('nope')).toThrow(/not JSON/);
  });

  it('reads a file at start and refuses to start without one', async () => {
    const file = join(dir, 'keys.json');
    writeFileSync(file, doc('a1'));
    const keys = await GithubKeys.open({ source: file });
    expect(await keys.get('a1')).toBeDefined();
    expect(await keys.get('b2')).toBeUndefined();
    await expect(GithubKeys.open({ source: join(dir, 'missing.json') })).rejects.toThrow(/ENOENT/);
    await expect(GithubKeys.open({ source: 'http://example.com/keys' })).rejects.toThrow(/https/);
  });

  it('fetches a URL, fetches again for an unknown identifier at most once a minute, and survives an outage', async () => {
    const state = { body: doc('a1'), status: 200, hits: 0 };
    const url = await keyServer(state);
    let now = 1_000_000;
    const lines: string[] = [];
    const keys = await GithubKeys.open({ source: url, now: () => now, log: (l) => lines.push(l) });
    expect(state.hits).toBe(1);
    expect(await keys.get('a1')).toBeDefined();
    // GitHub rotated its keys: the new identifier is fetched once, later requests wait a minute.
    state.body = doc('b2');
    now += REFETCH_INTERVAL_MS + 1;
    expect(await keys.get('b2')).toBeDefined();
    expect(state.hits).toBe(2);
    expect(await keys.get('made-up')).toBeUndefined();
    expect(await keys.get('made-up-too')).toBeUndefined();
    expect(state.hits).toBe(2);
    // An outage keeps the keys held, and says so.
    state.status = 500;
    now += REFETCH_INTERVAL_MS + 1;
    expect(await keys.get('c3')).toBeUndefined();
    expect(await keys.get('b2')).toBeDefined();
    expect(lines.join('\n')).toMatch(/HTTP 500.*keeping the keys loaded before/);
  });

  it('starts without keys when the URL is down, and loads them once it is up', async () => {
    const state = { body: 'down', status: 503, hits: 0 };
    const url = await keyServer(state);
    let now = 1_000_000;
    const keys = await GithubKeys.open({ source: url, now: () => now });
    expect(keys.ready).toBe(false);
    state.body = doc('a1');
    state.status = 200;
    now += REFETCH_INTERVAL_MS + 1;
    expect(await keys.get('a1')).toBeDefined();
    expect(keys.ready).toBe(true);
  });
});
