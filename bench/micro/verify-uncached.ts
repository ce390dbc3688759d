/**
 * Target 5, in process: how long verifying a key takes when it is NOT in keyward's cache,
 * against a 1M-key store (SQLite file or PostgreSQL on loopback). Each sample is a
 * different stored key, verified once through `KeyManager.verifier()` (what a guard
 * calls), so every sample is a cache miss that goes to the store. Started by the harness
 * (bench/lib/micro.ts); prints `BENCH_MICRO`.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { keyFormat } from '@keyward/keys';
import { AuthFailure, apiKeyHeader, type VerifyContext } from 'keyward';
import { latencySummary } from '../lib/cases.js';
import { openStoreVerifier, type StoreTarget } from '../lib/keystore.js';

const cfg = JSON.parse(process.env.BENCH_CONFIG ?? '{}') as {
  target: StoreTarget;
  pepper: string;
  validFile: string;
  keys: number;
  samples: number;
};
const keys = readFileSync(cfg.validFile, 'utf8').split('\n').filter(Boolean);

/**
 * Reads the SQLite files once, so that they are in the OS page cache as a serving store's
 * are. The target is keyward's uncached path, not the disk: on this VM the host reclaims
 * page cache under the load cases, and a lookup that went to the virtual disk took up to
 * a millisecond (see docs/operations/performance.md).
 */
function intoPageCache(path: string): void {
  const chunk = Buffer.allocUnsafe(4 << 20);
  for (const file of [path, `${path}-wal`]) {
    if (!existsSync(file)) continue;
    const fd = openSync(file, 'r');
    try {
      while (readSync(fd, chunk, 0, chunk.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
}
if (cfg.target.kind === 'sqlite') intoPageCache(cfg.target.path);
const warm = Math.min(2_000, Math.floor(keys.length / 10));
const samples = Math.min(cfg.samples, keys.length - warm);
const verifier = await openStoreVerifier(cfg.target, cfg.pepper);
const context: VerifyContext = { scheme: apiKeyHeader({ name: 'X-API-Key' }), scopes: [] };

// CPU time of each sample too: on a shared machine, wall time includes waiting for a core.
const cpuUs: number[] = [];

async function timeOne(key: string, valid: boolean): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = verifier.verify(key, context);
  const value = r instanceof Promise ? await r : r;
  const ns = Number(process.hrtime.bigint() - t0);
  const c = process.cpuUsage(c0);
  cpuUs.push(c.user + c.system);
  // A wrong pepper or file would make every "valid" sample a quick rejection: refuse.
  // A refusal is falsy or an AuthFailure naming the reason.
  const accepted = Boolean(value) && !(value instanceof AuthFailure);
  if (accepted !== valid) throw new Error(`a ${valid ? 'valid' : 'unknown'} key verified otherwise`);
  return ns;
}

// Warm the JIT and SQLite's page cache with keys that are not sampled afterwards.
for (let i = 0; i < warm; i++) await timeOne(keys[i]!, true);
const lookupsBefore = verifier.lookups();
cpuUs.length = 0;
const valid: number[] = [];
for (let i = warm; i < warm + samples; i++) valid.push(await timeOne(keys[i]!, true));
const missesSeen = verifier.lookups() - lookupsBefore;
const cpu = latencySummary(cpuUs.map((us) => us * 1000));

// Unknown but well-formed keys: also a store lookup each (then a negative-cache entry).
const format = keyFormat('kw');
const unknown: number[] = [];
for (let i = 0; i < Math.min(samples, 10_000); i++) unknown.push(await timeOne(format.generate(), false));

// For contrast: the same key again and again (a cache hit, answered synchronously).
const hot = keys[warm]!;
const reps = 200_000;
const t0 = process.hrtime.bigint();
for (let i = 0; i < reps; i++) verifier.verify(hot, context);
const cachedNs = Number(process.hrtime.bigint() - t0) / reps;
await verifier.close();

const v = latencySummary(valid);
const u = latencySummary(unknown);
process.stdout.write(
  `BENCH_MICRO ${JSON.stringify({
    store: cfg.target.kind,
    keys: cfg.keys,
    samples: valid.length,
    ...v,
    storeLookups: missesSeen,
    cpuP50Us: cpu.p50Us,
    cpuP99Us: cpu.p99Us,
    unknownP50Us: u.p50Us,
    unknownP99Us: u.p99Us,
    cachedMeanUs: cachedNs / 1000,
  })}\n`,
);
process.exit(0);
