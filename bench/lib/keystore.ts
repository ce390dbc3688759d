/**
 * The one place the benchmark knows the key store's API (src/keys, issue 3): building
 * the 1,000,000-key SQLite cache file once (bench/.cache, reused while the schema and
 * key format stay the same), issuing well-formed and malformed keys, and opening a
 * verifier over the file that counts store lookups.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Verifier } from '../../src/index.js';
import { KEY_FORMAT_VERSION, KeyManager, keyFormat, SqliteKeyStore } from '../../src/keys/index.js';
import { SCHEMA_VERSION } from '../../src/keys/sqlite/schema.js';
import type { StoreBuild } from './model.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Plaintext keys kept beside the cache (valid-key cases, flood pool, uncached micro-benchmark). */
const SAMPLE = 100_000;

export interface StoreVerifier {
  readonly verify: Verifier<unknown>;
  /** Store lookups (`findByHash`) so far. */
  lookups(): number;
  close(): Promise<void>;
}

/** The 1M-key cache file and what the cases need from it. */
export interface PreparedStore {
  readonly path: string;
  readonly pepper: string;
  readonly keys: number;
  /** Plaintext of some issued keys (kept beside the cache file, mode 0600). */
  readonly valid: readonly string[];
  readonly build: StoreBuild;
  /** A fresh key with the right shape and checksum that no store holds. */
  wellFormed(): string;
  /** Our prefix and length, wrong checksum. */
  malformed(): string;
}

/** Why the store cannot be measured in this tree, or undefined when it can. */
export function storeUnavailable(): string | undefined {
  return existsSync(`${root}src/keys/manager.ts`)
    ? undefined
    : 'the key store (src/keys, issue 3) is missing';
}

/** What the cache file depends on besides the code still verifying its keys (checked on reuse). */
function fingerprint(): string {
  return `sqlite-schema-${SCHEMA_VERSION}/key-format-${KEY_FORMAT_VERSION}`;
}

/** True when the cached file opens and one of its sample keys verifies with its pepper. */
async function stillVerifies(path: string, pepper: string, key: string): Promise<boolean> {
  try {
    const store = await SqliteKeyStore.open(path);
    const manager = await KeyManager.open({ store, pepper, pollIntervalMs: 0, flushIntervalMs: 0 });
    try {
      return (await manager.check(key, { dryRun: true })).outcome === 'valid';
    } finally {
      await manager.close();
    }
  } catch {
    return false;
  }
}

interface Meta {
  fingerprint: string;
  keys: number;
  seconds: number;
  method: string;
  builtAt: string;
}

const format = keyFormat('kw');

function malformed(): string {
  const key = format.generate();
  // Changing the last checksum digit always breaks the checksum.
  const bad = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');
  if (format.classify(bad) !== 'malformed') throw new Error('could not make a malformed key');
  return bad;
}

async function build(path: string, pepper: string, keys: number, log: (l: string) => void): Promise<Meta> {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const store = await SqliteKeyStore.open(path);
  const manager = await KeyManager.open({ store, pepper, pollIntervalMs: 0, flushIntervalMs: 0 });
  const sample: string[] = [];
  function* items() {
    for (let i = 0; i < keys; i++) {
      const key = manager.format.generate();
      if (i < SAMPLE) sample.push(key);
      yield { key };
    }
  }
  log(`building the ${keys.toLocaleString('en-US')}-key SQLite store (once; cached in bench/.cache)`);
  const t0 = performance.now();
  let shown = 0;
  const result = await manager.importKeys(items(), {
    batchSize: 10_000,
    onProgress: (p) => {
      if (p.processed - shown >= 250_000) {
        shown = p.processed;
        log(
          `  ${p.processed.toLocaleString('en-US')} keys, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  await manager.close();
  if (result.imported !== keys) throw new Error(`imported ${result.imported} of ${keys} keys`);
  writeFileSync(`${path}.valid.txt`, `${sample.join('\n')}\n`, { mode: 0o600 });
  log(`  done: ${seconds.toFixed(1)} s`);
  return {
    fingerprint: fingerprint(),
    keys,
    seconds,
    method: 'KeyManager.importKeys, batches of 10,000, key generation included',
    builtAt: new Date().toISOString(),
  };
}

/** Opens (building first when needed) the cached store of `keys` keys. */
export async function prepareStore(options: {
  cacheDir: string;
  keys: number;
  log: (line: string) => void;
}): Promise<PreparedStore> {
  const path = `${options.cacheDir}keys-${options.keys}.db`;
  const pepperFile = `${path}.pepper`;
  let meta: Meta | undefined;
  try {
    meta = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Meta;
  } catch {
    meta = undefined;
  }
  const usable =
    meta?.fingerprint === fingerprint() &&
    meta.keys === options.keys &&
    [path, pepperFile, `${path}.valid.txt`].every((f) => existsSync(f)) &&
    (await stillVerifies(
      path,
      readFileSync(pepperFile, 'utf8'),
      readFileSync(`${path}.valid.txt`, 'utf8').split('\n')[0]!,
    ));
  if (meta && !usable) options.log('the cached key store no longer matches the code: rebuilding it');
  let cached = true;
  if (!usable) {
    cached = false;
    writeFileSync(pepperFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
    meta = await build(path, readFileSync(pepperFile, 'utf8'), options.keys, options.log);
    writeFileSync(`${path}.json`, `${JSON.stringify(meta, null, 2)}\n`);
  }
  const valid = readFileSync(`${path}.valid.txt`, 'utf8').split('\n').filter(Boolean);
  return {
    path,
    pepper: readFileSync(pepperFile, 'utf8'),
    keys: meta!.keys,
    valid,
    build: { keys: meta!.keys, seconds: meta!.seconds, method: meta!.method, cached, builtAt: meta!.builtAt },
    wellFormed: () => format.generate(),
    malformed,
  };
}

/** A verifier over the store file, as a server would open it, with a lookup counter. */
export async function openStoreVerifier(path: string, pepper: string): Promise<StoreVerifier> {
  const store = await SqliteKeyStore.open(path);
  let lookups = 0;
  const find = store.findByHash.bind(store);
  store.findByHash = (hash) => {
    lookups++;
    return find(hash);
  };
  const manager = await KeyManager.open({ store, pepper });
  return { verify: manager.verifier(), lookups: () => lookups, close: () => manager.close() };
}
