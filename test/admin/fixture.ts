// An admin API over real HTTP on a real store (SQLite file or a PostgreSQL schema of its
// own), with root keys of every scope, recording every response it gets.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyManager } from '@keyward/keys';
import { createAdminApp, listen, openKeyManager, ROOT_SCOPES, type RunningServer } from '@keyward/server';
import pg from 'pg';
import { expect } from 'vitest';
import { PG_URL } from '../helpers/services.js';
import { PEPPER } from '../keys/temp.js';

export const SCOPES = ROOT_SCOPES;

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly text: string;
}

export interface AdminFixture {
  readonly manager: KeyManager;
  readonly url: string;
  /** Root keys: `all` holds `keyward:*`, one per root scope, `none` only `read`. */
  readonly roots: Record<string, { id: string; key: string }>;
  readonly recorded: Recorded[];
  call(
    method: string,
    path: string,
    options?: { key?: string | null; bearer?: boolean; body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON the tests inspect.
  ): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  close(): Promise<void>;
}

export type StoreKind = 'sqlite' | 'postgres';

/** Opens a manager on a fresh store of this kind. */
export async function freshManager(
  kind: StoreKind,
): Promise<{ manager: KeyManager; drop: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-admin-'));
    const manager = await openKeyManager({
      database: join(dir, 'keys.db'),
      env: { KEYWARD_PEPPER: PEPPER },
      pollIntervalMs: 50,
    });
    return { manager, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `keyward_admin_${randomBytes(4).toString('hex')}`;
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  const manager = await openKeyManager({
    database: url.toString(),
    env: { KEYWARD_PEPPER: PEPPER },
    pollIntervalMs: 50,
  });
  return {
    manager,
    drop: async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

export async function startAdmin(
  kind: StoreKind,
  sessions?: { ttlMs?: number },
  app: { allowPrivateWebhooks?: boolean } = {},
): Promise<AdminFixture> {
  const { manager, drop } = await freshManager(kind);
  const roots: Record<string, { id: string; key: string }> = {};
  // Keys name owners that exist.
  for (const name of ['acme', 'lister', 'audit-owner', 'Initech']) await manager.createOwner({ name });
  for (const [name, scopes] of [
    ['all', ['keyward:*']],
    ['none', ['read']],
    ...SCOPES.map((s) => [s, [s]] as const),
  ] as const) {
    const created = await manager.create({ name: `root ${name}`, scopes: [...scopes] });
    roots[name] = { id: created.record.id, key: created.key };
  }
  const server: RunningServer = await listen(
    createAdminApp({ manager, ...app, ...(sessions ? { sessions } : {}) }),
    0,
    '127.0.0.1',
  );
  const recorded: Recorded[] = [];
  return {
    manager,
    url: server.url,
    roots,
    recorded,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const key = options.key === undefined ? roots.all!.key : options.key;
      if (key !== null) {
        if (options.bearer === false) headers['x-api-key'] = key;
        else headers.authorization = `Bearer ${key}`;
      }
      let body: string | undefined;
      if (options.body !== undefined) {
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(server.url + path, { method, headers, body });
      const text = await res.text();
      recorded.push({ method, path, status: res.status, text: text + JSON.stringify([...res.headers]) });
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, json, text };
    },
    async close() {
      await server.close();
      await manager.close();
      await drop();
    },
  };
}

/** Asserts an RFC 9457 problem response with this status and stable code. */
export function expectProblem(
  res: { status: number; headers: Headers; json: unknown },
  status: number,
  code: string,
): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.json).toMatchObject({ status, code, type: `https://keyward.dev/problems/${code}` });
}
