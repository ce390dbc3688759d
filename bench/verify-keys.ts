// Standalone: `node --import tsx bench/verify-keys.ts`. In-process cost of KeyManager
// verification on a SQLite store: cached hit, miss (HMAC + indexed lookup), malformed,
// remembered-unknown, and a key with limited uses (one atomic store write per request).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyManager } from '@keyward/keys';
import { SqliteKeyStore } from '@keyward/sqlite';

const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-verify-'));
const ctx = { scheme: undefined as never, scopes: [] as string[] };

async function time(label: string, n: number, fn: (i: number) => unknown): Promise<void> {
  for (let i = 0; i < Math.min(n, 1000); i++) await fn(i); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = fn(i);
    if (r instanceof Promise) await r;
  }
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(
    `${label.padEnd(44)} ${ns < 10_000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(1)} µs`}/op`,
  );
}

try {
  const store = await SqliteKeyStore.open(join(dir, 'verify.db'));
  const manager = await KeyManager.open({
    store,
    pepper: 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz',
    pollIntervalMs: 0,
    flushIntervalMs: 0,
    cache: { max: 100_000 },
  });
  const verify = manager.verifier();
  const { key } = await manager.create({ name: 'hot' });
  const limited = await manager.create({ name: 'limited', uses: 10_000_000 });
  const many = Array.from({ length: 20_000 }, () => manager.format.generate());
  await manager.importKeys(many.map((k) => ({ key: k })));
  const bad = `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`;
  const unknown = manager.format.generate();
  await verify(unknown, ctx);

  await time('cached valid key (sync, no I/O)', 1_000_000, () => verify(key, ctx));
  await time('malformed key (checksum, no lookup)', 1_000_000, () => verify(bad, ctx));
  await time('unknown key, negative cache hit', 1_000_000, () => verify(unknown, ctx));
  await time('cache miss: HMAC + SQLite lookup', many.length - 1000, (i) => verify(many[i + 1000]!, ctx));
  await time('limited uses: atomic decrement per request', 20_000, () => verify(limited.key, ctx));
  await manager.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
