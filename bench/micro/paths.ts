// Standalone: `node --import tsx bench/micro/paths.ts` (after a bench run built bench/.cache).
// CPU cost per verification of each kind of key, in process, against the 1M-key SQLite
// store: a cached valid key, a malformed key, a repeated unknown key, a fresh unknown key.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { keyFormat } from '@keyward/keys';
import { openStoreVerifier } from '../lib/keystore.js';

const cache = fileURLToPath(new URL('../.cache/', import.meta.url));
const db = `${cache}keys-1000000.db`;
const pepper = readFileSync(`${db}.pepper`, 'utf8').trim();
const valid = readFileSync(`${db}.valid.txt`, 'utf8').split('\n').filter(Boolean);
const v = await openStoreVerifier({ kind: 'sqlite', path: db }, pepper);
const format = keyFormat();
const request = { headers: {} } as never;

async function measure(name: string, keyAt: (i: number) => string, n: number): Promise<void> {
  for (let i = 0; i < Math.min(n, 2000); i++) await v.verify(keyAt(i), request as never);
  // Event-loop turns, as a server has between requests (the store's filter loads in them).
  for (let i = 0; i < 100; i++) await new Promise((resolve) => setImmediate(resolve));
  const keys = Array.from({ length: n }, (_, i) => keyAt(i + 2000));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const k of keys) {
    const r = v.verify(k, request as never);
    if (r instanceof Promise) await r;
  }
  const wall = ((performance.now() - t0) * 1000) / n;
  const c = process.cpuUsage(c0);
  console.log(
    `${name.padEnd(16)} ${wall.toFixed(2)} µs wall, ${((c.user + c.system) / n).toFixed(2)} µs cpu`,
  );
}

const fresh = Array.from({ length: 60_000 }, () => format.generate());
const bad = `${valid[0]!.slice(0, -1)}${valid[0]!.endsWith('A') ? 'B' : 'A'}`;
const unknown = format.generate();
for (let round = 0; round < 2; round++) {
  await measure('cached valid', (i) => valid[i % 1000]!, 200_000);
  await measure('malformed', () => bad, 200_000);
  await measure('repeated unknown', () => unknown, 200_000);
  await measure('fresh unknown', (i) => fresh[(i + round * 29_000) % fresh.length]!, 25_000);
}
console.log('lookups', v.lookups());
await v.close();
