// `keyward serve` on the key store, as real processes: first start, a CLI revoke seen by
// the running server, usage flushed on SIGTERM, no plaintext key in the database or logs.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { keyFormat } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTHER_PEPPER, tempDir } from '../keys/temp.js';
import { type Child, cliProcess, spawnCli } from './run.js';

const dir = tempDir('keyward-serve-');
const db = join(dir, 'keyward.db');
let serve: Child;
let url: string;
let firstKey: string;
let firstId: string;
let other: { id: string; key: string };
const cliOutput: string[] = [];

function dbBytes(): Buffer {
  return Buffer.concat(
    [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f)).map((f) => readFileSync(f)),
  );
}
const get = (key: string, path = '/secure-data') => fetch(url + path, { headers: { 'X-API-Key': key } });
// No KEYWARD_PEPPER: the pepper file beside ./keyward.db is used, as on a first real start.
const cliEnv = {};
async function openDb() {
  return openKeyManager({ database: db, env: {}, pollIntervalMs: 0 });
}

beforeAll(async () => {
  // Run in the temporary directory with no --db: the default ./keyward.db is created there.
  serve = spawnCli(['serve', '--port', '0', '--usage-flush', '1h'], {}, { cwd: dir });
  [, url] = (await serve.waitFor(/listening on (http:\/\/\S+)/)) as [string, string];
  const [, id, key] = (await serve.waitFor(/issued key (key_\w+)[\s\S]*?\n {2}(kw_\w+)\n/)) as string[];
  firstId = id!;
  firstKey = key!;
});
afterAll(async () => {
  if (serve && serve.child.exitCode === null) serve.child.kill('SIGKILL');
});

describe('keyward serve with the key store', () => {
  it('issues one admin key on a first start and prints it on stderr, apart from the request log', async () => {
    const { stdout, stderr } = serve.output();
    expect(stderr).toContain(`curl -H 'X-API-Key: ${firstKey}' ${url}/secure-data`);
    expect(stderr).toContain(`curl --cookie 'X-API-KEY=${firstKey}' ${url}/secure-data`);
    expect(stderr).toContain(`curl '${url}/secure-data?x-api-key=${firstKey}'`);
    expect(stderr).toContain('npx keyward keys create --name reader --scopes read --db ./keyward.db');
    expect(stdout).not.toContain(firstKey);
    expect(stderr).toMatch(/created pepper file .*keyward\.db\.pepper \(mode 0600\)/);
    expect(statSync(`${db}.pepper`).mode & 0o777).toBe(0o600);
    expect((await get(firstKey)).status).toBe(200);
    expect((await get(firstKey, '/admin-data')).status).toBe(200);
  });

  it('accepts at once a key the CLI issues in another process, while refusing made-up keys from memory', async () => {
    // Made-up keys load the store's membership filter, which then refuses them without a
    // query; a key another process commits must still pass it at once.
    for (let i = 0; i < 3; i++) {
      expect((await get(keyFormat().generate())).status).toBe(401);
      await sleep(100);
    }
    const created = await cliProcess(['keys', 'create', '--name', 'fresh', '--json', '--db', db], cliEnv);
    expect(created.code).toBe(0);
    cliOutput.push(created.stdout, created.stderr);
    const fresh = JSON.parse(created.stdout) as { key: string };
    expect((await get(fresh.key)).status).toBe(200);
    expect((await get(keyFormat().generate())).status).toBe(401);
  });

  it('sees a revoke made by the CLI in another process within 1 second', async () => {
    const created = await cliProcess(['keys', 'create', '--name', 'other', '--json', '--db', db], cliEnv);
    expect(created.code).toBe(0);
    cliOutput.push(created.stdout, created.stderr);
    other = JSON.parse(created.stdout);
    expect((await get(other.key)).status).toBe(200);
    expect((await get(other.key)).status).toBe(200);
    expect((await get(other.key, '/admin-data')).status).toBe(403);
    const revoked = await cliProcess(['keys', 'revoke', other.id, '--db', db], cliEnv);
    expect(revoked.code).toBe(0);
    cliOutput.push(revoked.stdout, revoked.stderr);
    // The server cached the key as valid (60 s TTL); only the change feed can turn it away.
    await sleep(1000);
    const after = await get(other.key);
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual({ detail: 'Invalid API Key' });
    // While the server runs, recent commits sit in the -wal file: no key there either.
    expect(existsSync(`${db}-wal`)).toBe(true);
    const live = dbBytes();
    for (const key of [firstKey, other.key]) expect(live.includes(key.slice(7))).toBe(false);
  });

  it('keeps use counts in memory until SIGTERM, then flushes them all', async () => {
    for (let i = 0; i < 5; i++) expect((await get(firstKey)).status).toBe(200);
    const before = await openDb();
    expect((await before.get(firstId)).useCount).toBe(0);
    await before.close();
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const m = await openDb();
    try {
      // 2 requests in the first test + 5 here; `other`: 2 (the 403 took no use, the 401 none).
      expect(await m.get(firstId)).toMatchObject({ useCount: 7, lastUsedAt: expect.any(Date) });
      expect((await m.get(other.id)).useCount).toBe(2);
    } finally {
      await m.close();
    }
  });

  it('leaves no plaintext key in the database files or the logs, but the one-time print', async () => {
    const bytes = dbBytes();
    for (const key of [firstKey, other.key]) {
      expect(bytes.includes(key)).toBe(false);
      expect(bytes.includes(key.slice(7))).toBe(false); // past the display fragment
    }
    const { stdout, stderr } = serve.output();
    const [print, rest] = [
      stderr.slice(0, stderr.indexOf('A key without scope admin')),
      stderr.slice(stderr.indexOf('A key without scope admin')),
    ];
    expect(print.split(firstKey).length - 1).toBe(5); // the key line and four curl lines
    expect(rest).not.toContain(firstKey);
    // stdout is the JSON request log, one object per line.
    expect(stdout).not.toContain(firstKey);
    for (const line of stdout.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    expect(stdout + stderr).not.toContain(other.key);
    const cli = cliOutput.join('');
    expect(cli.split(other.key).length - 1).toBe(1); // the --json creation output, once
    expect(cli).not.toContain(firstKey);
  });

  it('refuses a wrong pepper with exit code 5', async () => {
    const out = await cliProcess(['keys', 'list', '--db', db], { KEYWARD_PEPPER: OTHER_PEPPER });
    expect(out.code).toBe(5);
    expect(out.stderr).toMatch(/^keyward: the key store at .* was created with another pepper/);
  });
});

describe('keyward serve with KEYWARD_API_KEYS', () => {
  it('uses the static keys and never opens a key store', async () => {
    const cwd = tempDir('keyward-static-');
    const key = 'static-demo-key-0123456789abcdef';
    const child = spawnCli(['serve', '--port', '0'], { KEYWARD_API_KEYS: key }, { cwd });
    try {
      const [, base] = (await child.waitFor(/listening on (http:\/\/\S+)/)) as string[];
      expect((await fetch(`${base}/secure-data`, { headers: { 'X-API-Key': key } })).status).toBe(200);
      expect(existsSync(join(cwd, 'keyward.db'))).toBe(false);
      expect(existsSync(join(cwd, 'keyward.db.pepper'))).toBe(false);
    } finally {
      child.child.kill('SIGTERM');
      await child.exited;
    }
  });
});
