import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KeyManager } from '@keyward/keys';
import { SqliteKeyStore } from '@keyward/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileBench, compiled } from '../../bench/lib/build.js';
import { registry } from '../../bench/lib/registry.js';
import { makeRow } from '../../packages/keys/src/testing/contract.js';
import type { WriterRequest } from '../../packages/sqlite/src/worker/writer-worker.js';

// The harness runs its servers as tsc output (bench/lib/build.ts). This checks that every
// server it knows compiles, and that a compiled store server answers as the harness expects.

const root = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let out: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyward-bench-build-'));
  // Inside the repository, so that the compiled servers find node_modules; git-ignored.
  out = join(root, 'bench', '.cache', `test-build-${process.pid}`);
  compileBench(out);
}, 240_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

describe('the compiled benchmark', () => {
  it('has every registered server, every in-process measurement and the store writer worker', () => {
    // `keyward serve` runs the server package's own command, built with the packages.
    expect(existsSync(`${root}packages/server/dist/cli/main.js`)).toBe(true);
    const files = [
      ...registry(true)
        .filter((s) => !s.serve)
        .map((s) => `${root}bench/servers/${s.entry}`),
      ...['verify-uncached.ts', 'revocation.ts', 'revocation-watcher.ts'].map(
        (f) => `${root}bench/micro/${f}`,
      ),
    ];
    const missing = files.map((f) => compiled(f, out)).filter((f) => !existsSync(f));
    expect(missing).toEqual([]);
  });

  it('runs the compiled writer worker: it takes a use of a key with limited uses', async () => {
    const database = join(dir, 'worker.db');
    const store = await SqliteKeyStore.open(database);
    const row = makeRow({ remainingUses: 2 });
    await store.insert(row, { actor: 't', at: new Date(), action: 'create' });
    await store.close();
    // As the built package runs it: plain Node, without vitest's `@keyward/source` condition
    // (under it the worker's imports resolve to TypeScript sources Node cannot load).
    const worker = new Worker(`${root}packages/sqlite/dist/worker/writer-worker.js`, {
      workerData: { path: database, busyMs: 1000 },
      execArgv: [],
    });
    try {
      // A worker that fails to load posts nothing: fail with its error instead of waiting.
      const reply = new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const request: WriterRequest = { id: 7, op: 'consume', keyId: row.id, at: 1234, cost: 1 };
      worker.postMessage(request);
      expect(await reply).toEqual({ id: 7, left: 1 });
    } finally {
      await worker.terminate();
    }
  });

  it('runs a store server compiled: 200 for a stored key, 401 without one', async () => {
    const database = join(dir, 'keys.db');
    const pepper = 'bench-build-test-pepper-0123456789abcdef';
    const manager = await KeyManager.open({ store: await SqliteKeyStore.open(database), pepper });
    const { key } = await manager.create({ name: 'bench' });
    await manager.close();

    const config = { key: 'unused', keys: 'store', store: { kind: 'sqlite', path: database }, pepper };
    await withServer('keyward-node.ts', config, async (base) => {
      const url = `${base}/secure-data`;
      expect((await fetch(url, { headers: { 'x-api-key': key } })).status).toBe(200);
      expect((await fetch(url)).status).toBe(401);
    });
  }, 30_000);

  it('runs the reference servers compiled: each answers its cases as the harness expects', async () => {
    const key = `kw_${'A'.repeat(40)}`;
    const references = registry(true).filter((s) => s.group === 'reference');
    expect(references.map((s) => s.id)).toEqual([
      'node-keyed-floor',
      'hono-keyed-floor',
      'hono-noop-middleware',
      'hono-bare',
    ]);
    for (const server of references) {
      await withServer(server.entry, { key, keys: 'static' }, async (base) => {
        const status = async (path: string, header?: string) =>
          (await fetch(base + path, header === undefined ? {} : { headers: { 'x-api-key': header } })).status;
        const expected: Record<string, [string, string | undefined, number]> = {
          public: ['/health', undefined, 200],
          valid: ['/secure-data', key, 200],
          missing: ['/secure-data', undefined, 401],
          unknown: ['/secure-data', `kw_${'B'.repeat(40)}`, 401],
        };
        for (const name of server.cases) {
          const [path, header, code] = expected[name]!;
          expect([server.id, name, await status(path, header)]).toEqual([server.id, name, code]);
        }
      });
    }
  }, 60_000);
});

/** Starts a compiled benchmark server as the harness does, runs `use`, then stops it. */
async function withServer(entry: string, config: object, use: (base: string) => Promise<void>) {
  const child = spawn(process.execPath, [compiled(`${root}bench/servers/${entry}`, out)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production', BENCH_CONFIG: JSON.stringify(config) },
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let text = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        text += d;
        const ready = /BENCH_READY (\{.*\})/.exec(text);
        if (ready) resolve((JSON.parse(ready[1]!) as { port: number }).port);
      });
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        err += d;
      });
      child.on('exit', (code) => reject(new Error(`${entry} exited with ${code}: ${err}`)));
    });
    await use(`http://127.0.0.1:${port}`);
  } finally {
    // The server stops when the harness's end of stdin closes.
    child.stdin!.end();
    await new Promise((resolve) => child.once('close', resolve));
  }
}
