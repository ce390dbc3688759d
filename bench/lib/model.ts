/** Shapes shared by the harness, the targets and the result JSON. */

/** What a load case sends. The baseline of each case is measured on the same server, same run. */
export type CaseName = 'public' | 'valid' | 'missing' | 'malformed' | 'unknown' | 'cycle' | 'flood';

export const CASES: Readonly<
  Record<CaseName, { baseline?: CaseName; status: number | 'mixed'; describe: string }>
> = {
  public: { status: 200, describe: 'public route, no auth' },
  valid: { baseline: 'public', status: 200, describe: 'valid key' },
  missing: { baseline: 'valid', status: 401, describe: 'no key' },
  malformed: { baseline: 'valid', status: 401, describe: 'kw_ prefix, bad checksum' },
  unknown: { baseline: 'valid', status: 401, describe: 'well-formed unknown key (one, repeated)' },
  cycle: {
    baseline: 'valid',
    status: 200,
    describe: "valid keys only, sent by the flood's own wrk script (the flood's all-valid control)",
  },
  flood: { baseline: 'cycle', status: 'mixed', describe: '50% valid / 50% fresh random well-formed unknown' },
};

/**
 * `peer`: another library (or the hand-written floor) that target 4 compares with;
 * `keyward`: the library's adapters, what issue 6's targets judge; `service`: the
 * `keyward serve` command as a user runs it (issue 16's points 1 and 2); `reference`: a
 * hand-written server that shows what a target's setup costs at the least (the baseline
 * of issue 16's points 2 and 3, never judged itself).
 */
export type ServerGroup = 'peer' | 'keyward' | 'service' | 'reference';

export type Framework = 'node' | 'hono' | 'fastify' | 'express' | 'fetch';

/** One server process the harness starts (bench/servers/<id>.ts). */
export interface ServerSpec {
  readonly id: string;
  readonly label: string;
  readonly group: ServerGroup;
  readonly framework: Framework;
  /** Where the server reads keys: one static key, or the SQLite key store. */
  readonly keys: 'static' | 'store';
  /** How the key travels: header name and the text before the key (`Bearer `). */
  readonly header: string;
  readonly prefix: string;
  readonly cases: readonly CaseName[];
  /** Measured in `--quick` too. */
  readonly quick: boolean;
  /** The hand-written node:http floor, not a library (target 4 also reports peers without it). */
  readonly floor?: true;
  /** Printed under the table, e.g. that a server is a stand-in for an adapter still being built. */
  readonly note?: string;
}

/** One load-generator run. Latencies in microseconds. */
export interface RunResult {
  readonly rps: number;
  readonly requests: number;
  readonly seconds: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Responses outside 2xx/3xx (expected for the rejection cases). */
  readonly non2xx: number;
  /** Socket errors and timeouts: any is a broken run. */
  readonly socketErrors: number;
  /** Fresh unknown keys the flood script used (to advance the pool offset). */
  readonly generated?: number;
  /** CPU use of the server and the load generator during the run, in % of one core. */
  readonly serverCpu?: number;
  readonly loadCpu?: number;
  /**
   * Requests per CPU-second of the server process (all its threads). Equal to `rps` when
   * the server has its core to itself; on a shared machine it is the rate the server
   * would reach with a whole core, so ratios stay meaningful while neighbours steal time.
   */
  readonly perCore?: number;
}

/** The figure ratios and targets are computed on: per-core throughput when known, else rps. */
export function throughput(run: RunResult): number {
  return run.perCore ?? run.rps;
}

export interface CaseResult {
  readonly server: string;
  readonly case: CaseName;
  readonly runs: readonly RunResult[];
  /** Median requests per second (wall clock) over the runs. */
  readonly rps: number;
  /** Median requests per server CPU-second, and median server CPU use (% of a core). */
  readonly perCore?: number;
  readonly serverCpu?: number;
  readonly p99Us: number;
  /** Median of per-round ratios against the baseline case of the same server. */
  readonly ratio?: number;
  readonly baseline?: CaseName;
  /** (max - min) / median of the runs' {@link throughput}. */
  readonly spread: number;
  /** Set when a run was broken (socket errors, wrong status codes). */
  readonly problem?: string;
}

export interface ServerResult {
  readonly id: string;
  readonly floor?: true;
  readonly label: string;
  readonly group: ServerGroup;
  readonly framework: Framework;
  readonly keys: 'static' | 'store';
  readonly note?: string;
  /** Peak VmRSS sampled from /proc during the runs, in MiB. */
  readonly rssPeakMiB?: number;
  /** Keys in the store the server verified against. */
  readonly storeKeys?: number;
  /** Store lookups the server counted while the one repeated unknown key was sent. */
  readonly unknownLookups?: { readonly lookups: number; readonly requests: number };
  /** Store lookups the server counted during the flood, and the fresh unknown keys sent. */
  readonly floodLookups?: { readonly lookups: number; readonly freshKeys: number };
  /**
   * `keyward serve`: the request-log level it ran with, the JSON lines it wrote to stdout
   * (counted once it exited, so lines still waiting were flushed) and the requests the load
   * generator and the harness completed on it. Fewer lines than requests means lost lines.
   */
  readonly requestLog?: { readonly level: string; readonly lines: number; readonly requests: number };
}

/** Target 5: verification outside the cache, in process. */
export interface MicroResult {
  readonly store: string;
  readonly keys: number;
  readonly samples: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  /** CPU time per sample (user + system): the wall figures minus time spent waiting for a core. */
  readonly cpuP50Us?: number;
  readonly cpuP99Us?: number;
  /** Store lookups during the samples (should equal `samples`: every one a miss). */
  readonly storeLookups?: number;
  /** Well-formed unknown keys, also a lookup each. */
  readonly unknownP50Us?: number;
  readonly unknownP99Us?: number;
  /** A cached key, for contrast (mean of a tight loop). */
  readonly cachedMeanUs?: number;
}

/** Target 7: a revocation on one instance seen by another (milliseconds). */
export interface RevocationResult {
  readonly samples: number;
  /** Revocations the other instance had not enforced after 5 s. */
  readonly missed: number;
  /** From the revoke being committed on instance A to instance B refusing the key. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** From the revoke call starting (includes its own commit). */
  readonly fromCallP99Ms: number;
}

/** Target 8: memory kept by failure limits for many distinct client addresses. */
export interface AddressMemoryResult {
  readonly addresses: number;
  readonly requests: number;
  readonly seconds: number;
  /** Outcomes by failure code (`ok` for a pass). */
  readonly codes: Readonly<Record<string, number>>;
  readonly rssBaseMiB: number;
  readonly rssPeakMiB: number;
  /** Peak RSS over the process before the limits were made: the figure. */
  readonly growthPeakMiB: number;
  /** After a full collection at the end. */
  readonly growthEndMiB: number;
  readonly heapGrowthMiB: number;
  readonly arrayBuffersGrowthMiB: number;
  /** V8's young generation at the end of the load (it grows under any sustained load). */
  readonly newSpaceMiB?: number;
  /** Entries held at the end: failure counters, blocked addresses, (address, key) pairs. */
  readonly counters: number;
  readonly blocked: number;
  readonly known: number;
}

/** Target 6: building the store. */
export interface StoreBuild {
  readonly keys: number;
  readonly seconds: number;
  /** How the keys went in (the API or CLI path used). */
  readonly method: string;
  /** True when this run reused the cached file and the time comes from when it was built. */
  readonly cached: boolean;
  readonly builtAt: string;
}

export type Verdict = 'PASS' | 'MISS' | 'not measured';

export interface TargetResult {
  readonly id: string;
  readonly title: string;
  /** e.g. `>= 0.95` or `< 100 µs`. */
  readonly goal: string;
  readonly verdict: Verdict;
  /** The measured figure as printed, e.g. `0.97 (hono store)`. */
  readonly value?: string;
  /** Why it is a miss or not measured, or what the value covers. */
  readonly note?: string;
}
