/**
 * The one place the benchmark knows the key store's API (@keyward/keys): building a store of
 * 1,000,000 keys once (a SQLite file in bench/.cache, or a PostgreSQL schema), reusing it
 * while its keys still verify, issuing well-formed and malformed keys, and opening a
 * verifier over it that counts store lookups.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KEY_FORMAT_VERSION, KeyManager, type KeyManagerOptions, keyFormat } from '@keyward/keys';
import type { KeyStore } from '@keyward/keys/store';
import { SCHEMA_VERSION as PG_SCHEMA, PostgresKeyStore } from '@keyward/postgres';
import { SCHEMA_VERSION as SQLITE_SCHEMA, SqliteKeyStore } from '@keyward/sqlite';
import type { Verifier } from 'keyward';
import type { StoreBuild } from './model.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Plaintext keys kept beside the cache (valid-key cases, flood pool, uncached micro-benchmark). */
const SAMPLE = 100_000;

export type StoreTarget =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string };

export interface StoreVerifier {
  readonly verify: Verifier<unknown>;
  /** Store lookups (`findByHash`) so far. */
  lookups(): number;
  readonly manager: KeyManager;
  close(): Promise<void>;
}

/** A store of `keys` keys and what the cases need from it. */
export interface PreparedStore {
  readonly target: StoreTarget;
  readonly pepper: string;
  readonly keys: number;
  /** Plaintext of some of its keys (kept in bench/.cache, mode 0600). */
  readonly valid: readonly string[];
  readonly validFile: string;
  readonly build: StoreBuild;
  /** A fresh key with the right shape and checksum that no store holds. */
  wellFormed(): string;
  /** Our prefix and length, wrong checksum. */
  malformed(): string;
}

/** Why the store cannot be measured in this tree, or undefined when it can. */
export function storeUnavailable(): string | undefined {
  return existsSync(`${root}packages/keys/dist/index.js`)
    ? undefined
    : 'the key store package is not built (npm run build)';
}

export function openStore(target: StoreTarget): Promise<KeyStore> {
  return target.kind === 'sqlite'
    ? SqliteKeyStore.open(target.path)
    : PostgresKeyStore.open(target.url, { schema: target.schema });
}

/** A key manager as a server opens one, with a count of store lookups. */
export async function openStoreVerifier(
  target: StoreTarget,
  pepper: string,
  options: Partial<KeyManagerOptions> = {},
): Promise<StoreVerifier> {
  const store = await openStore(target);
  let lookups = 0;
  const find = store.findByHash.bind(store);
  store.findByHash = (hash) => {
    lookups++;
    return find(hash);
  };
  const manager = await KeyManager.open({ ...options, store, pepper });
  return { verify: manager.verifier(), lookups: () => lookups, manager, close: () => manager.close() };
}

const format = keyFormat('kw');

function malformed(): string {
  const key = format.generate();
  // Changing the last checksum digit always breaks the checksum.
  const bad = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');
  if (format.classify(bad) !== 'malformed') throw new Error('could not make a malformed key');
  return bad;
}

/** What a cached store depends on besides its keys still verifying (checked on reuse). */
function fingerprint(target: StoreTarget): string {
  const schema = target.kind === 'sqlite' ? SQLITE_SCHEMA : PG_SCHEMA;
  return `${target.kind}-schema-${schema}/key-format-${KEY_FORMAT_VERSION}`;
}

async function stillVerifies(target: StoreTarget, pepper: string, key: string): Promise<boolean> {
  try {
    const v = await openStoreVerifier(target, pepper, { pollIntervalMs: 0, flushIntervalMs: 0 });
    try {
      return (await v.manager.check(key, { dryRun: true })).outcome === 'valid';
    } finally {
      await v.close();
    }
  } catch {
    return false;
  }
}

/** Deletes the store at `target` (the SQLite files, or the PostgreSQL schema). */
export async function wipe(target: StoreTarget): Promise<void> {
  if (target.kind === 'sqlite') {
    for (const suffix of ['', '-wal', '-shm']) rmSync(target.path + suffix, { force: true });
    return;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    // The schema name is ours (a constant), never user input.
    await client.query(`DROP SCHEMA IF EXISTS "${target.schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

interface Meta {
  fingerprint: string;
  keys: number;
  seconds: number;
  method: string;
  builtAt: string;
}

async function build(
  target: StoreTarget,
  pepper: string,
  keys: number,
  validFile: string,
  log: (l: string) => void,
) {
  await wipe(target);
  const store = await openStore(target);
  const manager = await KeyManager.open({ store, pepper, pollIntervalMs: 0, flushIntervalMs: 0 });
  const sample: string[] = [];
  function* items() {
    for (let i = 0; i < keys; i++) {
      const key = manager.format.generate();
      if (i < SAMPLE) sample.push(key);
      yield { key };
    }
  }
  log(`building the ${keys.toLocaleString('en-US')}-key ${target.kind} store (once; reused by later runs)`);
  const t0 = performance.now();
  let shown = 0;
  const result = await manager.importKeys(items(), {
    batchSize: 20_000, // the CLI's default
    onProgress: (p) => {
      if (p.processed - shown < 250_000) return;
      shown = p.processed;
      log(`  ${p.processed.toLocaleString('en-US')} keys, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    },
  });
  // close() checkpoints the WAL: the import counts once it is durable, as the CLI reports it.
  await manager.close();
  const seconds = (performance.now() - t0) / 1000;
  if (result.imported !== keys) throw new Error(`imported ${result.imported} of ${keys} keys`);
  writeFileSync(validFile, `${sample.join('\n')}\n`, { mode: 0o600 });
  log(`  done: ${seconds.toFixed(1)} s`);
  const meta: Meta = {
    fingerprint: fingerprint(target),
    keys,
    seconds,
    method: 'KeyManager.importKeys, batches of 20,000, key generation and the closing checkpoint included',
    builtAt: new Date().toISOString(),
  };
  return meta;
}

/**
 * The store of `keys` keys at `target`, reused when its files (`<base>.json`, `.pepper`,
 * `.valid.txt`) match and a sample key still verifies; otherwise rebuilt, or `undefined`
 * when `mayBuild` is false.
 */
export async function prepareStore(options: {
  target: StoreTarget;
  base: string;
  keys: number;
  mayBuild: boolean;
  log: (line: string) => void;
}): Promise<PreparedStore | undefined> {
  const { target, base } = options;
  const [metaFile, pepperFile, validFile] = [`${base}.json`, `${base}.pepper`, `${base}.valid.txt`];
  let meta: Meta | undefined;
  try {
    meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Meta;
  } catch {
    meta = undefined;
  }
  const usable =
    meta?.fingerprint === fingerprint(target) &&
    meta.keys === options.keys &&
    existsSync(pepperFile) &&
    existsSync(validFile) &&
    (await stillVerifies(
      target,
      readFileSync(pepperFile, 'utf8'),
      readFileSync(validFile, 'utf8').split('\n')[0]!,
    ));
  let cached = true;
  if (!usable) {
    if (!options.mayBuild) return undefined;
    if (meta) options.log(`the cached ${target.kind} store no longer matches the code: rebuilding it`);
    cached = false;
    writeFileSync(pepperFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
    meta = await build(target, readFileSync(pepperFile, 'utf8'), options.keys, validFile, options.log);
    writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  }
  const m = meta!;
  return {
    target,
    pepper: readFileSync(pepperFile, 'utf8'),
    keys: m.keys,
    valid: readFileSync(validFile, 'utf8').split('\n').filter(Boolean),
    validFile,
    build: { keys: m.keys, seconds: m.seconds, method: m.method, cached, builtAt: m.builtAt },
    wellFormed: () => format.generate(),
    malformed,
  };
}
