/**
 * What is measured in process after the load cases, each in its own pinned process:
 * target 5 (uncached verification, SQLite and PostgreSQL with 1,000,000 keys),
 * target 7 (a revocation on one instance enforced by another, over PostgreSQL) and
 * target 8 (memory kept by failure limits for 1,000,000 client addresses).
 */
import { type PreparedStore, prepareStore, type StoreTarget } from './keystore.js';
import { runChild } from './micro.js';
import type { AddressMemoryResult, MicroResult, RevocationResult, StoreBuild } from './model.js';

export interface OfflineResults {
  micro?: MicroResult;
  microReason?: string;
  pgMicro?: MicroResult;
  pgReason?: string;
  pgBuild?: StoreBuild;
  revocation?: RevocationResult;
  revocationReason?: string;
  addressMemory?: AddressMemoryResult;
  addressMemoryReason?: string;
}

/** Target 8: needs no store; about 3 requests per address, so full runs only. */
async function addressMemory(out: OfflineResults, cpu: string | undefined, log: (line: string) => void) {
  log('target 8: memory of failure limits over 1,000,000 client addresses');
  out.addressMemory = await runChild<AddressMemoryResult>(
    'address-memory.ts',
    { addresses: 1_000_000 },
    cpu,
    'BENCH_ADDRESSES',
  ).catch((e: Error) => {
    out.addressMemoryReason = `measurement failed: ${e.message}`;
    return undefined;
  });
}

/** `KEYWARD_BENCH_PG_URL`, else the shared development database. */
export const PG_URL = process.env.KEYWARD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Schemas the benchmark owns in that database (dropped and recreated by it). */
export const PG_STORE_SCHEMA = 'keyward_bench_1m';
export const PG_REVOKE_SCHEMA = 'keyward_bench_revoke';

const safeUrl = (url: string) => url.replace(/\/\/[^@/]*@/, '//');

async function pgReachable(url: string): Promise<string | undefined> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (e) {
    return `PostgreSQL is not reachable at ${safeUrl(url)} (${(e as Error).message}; set KEYWARD_BENCH_PG_URL)`;
  } finally {
    await client.end().catch(() => {});
  }
}

function micro(store: PreparedStore, samples: number, cpu: string | undefined): Promise<MicroResult> {
  const config = {
    target: store.target,
    pepper: store.pepper,
    validFile: store.validFile,
    keys: store.keys,
    samples,
  };
  return runChild<MicroResult>('verify-uncached.ts', config, cpu, 'BENCH_MICRO');
}

export async function measureOffline(options: {
  quick: boolean;
  cacheDir: string;
  keys: number;
  cpu: string | undefined;
  log: (line: string) => void;
  sqlite: PreparedStore | undefined;
  sqliteReason: string | undefined;
}): Promise<OfflineResults> {
  const { quick, cpu, log } = options;
  const out: OfflineResults = {};
  if (options.sqlite) {
    log('target 5: uncached verification, SQLite');
    out.micro = await micro(options.sqlite, quick ? 3_000 : 50_000, cpu).catch((e: Error) => {
      out.microReason = `micro-benchmark failed: ${e.message}`;
      return undefined;
    });
  } else out.microReason = options.sqliteReason;

  if (quick) {
    // Each needs PostgreSQL and a few seconds: full runs only, to keep --quick under a minute.
    out.pgReason = 'measured in full runs only';
    out.revocationReason = 'measured in full runs only';
    out.addressMemoryReason = 'measured in full runs only';
    return out;
  }
  await addressMemory(out, cpu, log);
  const unreachable = await pgReachable(PG_URL);
  if (unreachable) {
    out.pgReason = unreachable;
    out.revocationReason = unreachable;
    return out;
  }
  const target: StoreTarget = { kind: 'postgres', url: PG_URL, schema: PG_STORE_SCHEMA };
  // Building 1M keys in PostgreSQL takes a minute or two, once; later runs reuse the schema.
  const pg = await prepareStore({
    target,
    base: `${options.cacheDir}pg-keys-${options.keys}`,
    keys: options.keys,
    mayBuild: true,
    log,
  }).catch((e: Error) => {
    out.pgReason = `building the PostgreSQL store failed: ${e.message}`;
    return undefined;
  });
  if (pg) {
    out.pgBuild = pg.build;
    log('target 5: uncached verification, PostgreSQL');
    out.pgMicro = await micro(pg, 10_000, cpu).catch((e: Error) => {
      out.pgReason = `micro-benchmark failed: ${e.message}`;
      return undefined;
    });
  }

  log('target 7: revocation seen by another instance');
  const revokeTarget: StoreTarget = { kind: 'postgres', url: PG_URL, schema: PG_REVOKE_SCHEMA };
  out.revocation = await runChild<RevocationResult>(
    'revocation.ts',
    { target: revokeTarget, samples: 100 },
    undefined,
    'BENCH_REVOKE',
  ).catch((e: Error) => {
    out.revocationReason = `revocation measurement failed: ${e.message}`;
    return undefined;
  });
  return out;
}
