/**
 * Target 8, in process: what failure limits keep in memory per client address. A guard
 * with `rateLimits({ failures })` behind a trusted proxy sees 1,000,000 distinct client
 * addresses in `X-Forwarded-For` (half IPv4, half IPv6 each in its own /64, so none is
 * folded into another): each uses a valid key once, then guesses until its address is
 * blocked, which fills every per-address structure (failure counters, blocked addresses,
 * keys verified from an address). RSS is sampled every 10,000 addresses; the figure is
 * the peak over the process before the limits were made, so it includes their tables and
 * V8's young generation growing under the load. Started by the harness
 * (bench/lib/micro.ts); prints `BENCH_ADDRESSES`.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  apiKeyHeader,
  createGuard,
  type KeySource,
  memoryRateLimiter,
  rateLimits,
  staticKeys,
} from 'keyward';

const cfg = JSON.parse(process.env.BENCH_CONFIG ?? '{}') as { addresses?: number };
const ADDRESSES = cfg.addresses ?? 1_000_000;
const KEY = 'bench-address-memory-valid-key-0123456789';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mib = (bytes: number) => bytes / 2 ** 20;
const rss = () => process.memoryUsage.rss();

class Source implements KeySource {
  constructor(
    private readonly key: string,
    private readonly client: string,
  ) {}
  header(name: string) {
    return name === 'x-api-key' ? this.key : name === 'x-forwarded-for' ? this.client : undefined;
  }
  query() {
    return '';
  }
  peer() {
    return '127.0.0.1';
  }
}

function address(i: number): string {
  if (i % 2 === 0) return `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::${(i % 7) + 1}`;
}

// The baseline is the process before keyward's limits exist: their tables count as growth.
gc();
const baseUsage = process.memoryUsage();
const base = baseUsage.rss;

const limiter = memoryRateLimiter();
// `size` is not part of the public type: the measurement reads what the limits hold.
const limits = rateLimits({
  limiter,
  failures: { limit: 1, windowSeconds: 3600 },
  clientAddress: { trustedProxies: ['127.0.0.1'] },
});
const guard = createGuard({
  schemes: apiKeyHeader({ name: 'X-API-Key' }),
  verify: staticKeys([KEY]),
  limits,
});

let peak = base;
const codes: Record<string, number> = {};
const t0 = performance.now();
for (let i = 0; i < ADDRESSES; i++) {
  const client = address(i);
  for (const key of [KEY, `guess-${i}-a`, `guess-${i}-b`]) {
    const r = await guard.authenticate(new Source(key, client));
    const code = r.ok ? 'ok' : r.failure.code;
    codes[code] = (codes[code] ?? 0) + 1;
  }
  if (i % 10_000 === 0) peak = Math.max(peak, rss());
}
const seconds = (performance.now() - t0) / 1000;
peak = Math.max(peak, rss());
// V8's young generation grows under any sustained load, whatever the addresses.
const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
gc();
const end = process.memoryUsage();

const result = {
  addresses: ADDRESSES,
  requests: ADDRESSES * 3,
  seconds,
  codes,
  rssBaseMiB: mib(base),
  rssPeakMiB: mib(peak),
  growthPeakMiB: mib(peak - base),
  growthEndMiB: mib(end.rss - base),
  // What keyward keeps: live JS objects after a full collection, and the typed arrays.
  heapGrowthMiB: mib(end.heapUsed - baseUsage.heapUsed),
  arrayBuffersGrowthMiB: mib(end.arrayBuffers - baseUsage.arrayBuffers),
  newSpaceMiB: mib(newSpace),
  counters: limiter.size,
  ...(limits as unknown as { size: Record<string, number> }).size,
};
process.stdout.write(`BENCH_ADDRESSES ${JSON.stringify(result)}\n`);
process.exit(0);
