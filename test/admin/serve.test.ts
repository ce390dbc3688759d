// `keyward serve` opens the admin listener apart from the public API: real processes.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, cliProcess, spawnCli } from '../cli/run.js';
import { freePort } from '../helpers/services.js';
import { PEPPER, tempDir } from '../keys/temp.js';

const dir = tempDir('keyward-admin-serve-');
const db = join(dir, 'keyward.db');
const env = { KEYWARD_PEPPER: PEPPER };
let serve: Child;
let publicUrl: string;
let adminUrl: string;
let root: { id: string; key: string };

beforeAll(async () => {
  const created = await cliProcess(
    ['keys', 'create', '--name', 'ops', '--scopes', 'keyward:*', '--json', '--db', db],
    env,
  );
  expect(created.code).toBe(0);
  root = JSON.parse(created.stdout);
  serve = spawnCli(['serve', '--port', '0', '--db', db], env);
  [, publicUrl] = (await serve.waitFor(/demo API listening on (http:\/\/\S+)/)) as string[] as [
    string,
    string,
  ];
  [, adminUrl] = (await serve.waitFor(/admin API listening on (http:\/\/\S+)/)) as string[] as [
    string,
    string,
  ];
});
afterAll(async () => {
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});

describe('keyward serve: the admin listener', () => {
  it('listens on its own port on 127.0.0.1 and answers root keys', async () => {
    expect(new URL(adminUrl).hostname).toBe('127.0.0.1');
    expect(new URL(adminUrl).port).not.toBe(new URL(publicUrl).port);
    const res = await fetch(`${adminUrl}/v1/keys`, { headers: { authorization: `Bearer ${root.key}` } });
    expect(res.status).toBe(200);
    expect((await res.json()).items.map((k: { id: string }) => k.id)).toContain(root.id);
  });

  it('is never served by the public API', async () => {
    for (const path of ['/v1/keys', '/v1/audit', '/v1/openapi.json', '/v1/docs', '/dashboard']) {
      const res = await fetch(publicUrl + path, {
        headers: { authorization: `Bearer ${root.key}`, 'x-api-key': root.key },
      });
      expect(res.status, path).toBe(404);
    }
    const post = await fetch(`${publicUrl}/v1/keys`, {
      method: 'POST',
      headers: { 'x-api-key': root.key, 'content-type': 'application/json' },
      body: '{"name":"sneaky"}',
    });
    expect(post.status).toBe(404);
    // A key made through the admin API works on the public one.
    const made = await fetch(`${adminUrl}/v1/keys`, {
      method: 'POST',
      headers: { 'x-api-key': root.key, 'content-type': 'application/json' },
      body: '{"name":"public user"}',
    });
    const { key } = await made.json();
    expect((await fetch(`${publicUrl}/secure-data`, { headers: { 'x-api-key': key } })).status).toBe(200);
  });

  it('takes its port and host from --admin-port/KEYWARD_ADMIN_PORT, and --no-admin turns it off', async () => {
    const port = await freePort();
    const other = spawnCli(['serve', '--port', '0', '--db', db], {
      ...env,
      KEYWARD_ADMIN_PORT: String(port),
    });
    try {
      const [, url] = (await other.waitFor(/admin API listening on (http:\/\/\S+)/)) as string[];
      expect(url).toBe(`http://127.0.0.1:${port}`);
    } finally {
      other.child.kill('SIGTERM');
      await other.exited;
    }
    const off = spawnCli(['serve', '--port', '0', '--no-admin', '--db', db], env);
    try {
      await off.waitFor(/demo API listening/);
      await new Promise((r) => setTimeout(r, 200));
      expect(off.output().stderr).not.toContain('admin API listening');
    } finally {
      off.child.kill('SIGTERM');
      await off.exited;
    }
  });

  it('lists the admin flags and their environment variables in --help', async () => {
    const help = await cliProcess(['serve', '--help'], {});
    for (const text of [
      '--admin-port',
      'KEYWARD_ADMIN_PORT',
      '--admin-host',
      'KEYWARD_ADMIN_HOST',
      '--no-admin',
    ]) {
      expect(help.stdout).toContain(text);
    }
  });
});
