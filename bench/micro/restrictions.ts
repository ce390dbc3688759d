/**
 * In process: what key restrictions add to a verification. A guard over a `KeyManager`
 * (memory store, cached keys) authenticates the same request with an unrestricted key and
 * with a key restricted to 64 CIDR ranges, the client in the last one (every range is
 * tried); the difference per request is the cost (issue 18: at most 0.2 µs). Also the
 * refusal from outside every range, IPv4-mapped and IPv6 clients, keys whose owner is
 * restricted too (both must pass, combined once per cached key), and the check alone.
 *
 * Standalone: `node --conditions=@keyward/source --import tsx bench/micro/restrictions.ts`.
 * Prints a table and one `BENCH_RESTRICTIONS {...}` line (nanoseconds per operation).
 */
import { KeyManager, MemoryKeyStore } from '@keyward/keys';
import { type AuthResult, apiKeyHeader, createGuard, type KeySource } from 'keyward';

const cfg = JSON.parse(process.env.BENCH_CONFIG ?? '{}') as { iterations?: number; rounds?: number };
const N = cfg.iterations ?? 1_000_000;
const ROUNDS = cfg.rounds ?? 9;

class Source implements KeySource {
  constructor(
    private readonly key: string,
    private readonly address: string,
  ) {}
  header(name: string) {
    return name === 'x-api-key' ? this.key : undefined;
  }
  query() {
    return '';
  }
  peer() {
    return this.address;
  }
  method() {
    return 'GET';
  }
  path() {
    return '/reports/7';
  }
}

// 64 ranges: 63 IPv4 /24s that the client is not in, then the client's own /24.
const ranges = Array.from({ length: 63 }, (_, i) => `10.${i}.0.0/24`);
ranges.push('203.0.113.0/24');
const v6ranges = Array.from({ length: 63 }, (_, i) => `2001:db8:${i.toString(16)}::/48`);
v6ranges.push('2001:db8:ffff::/48');

// Snapshots trusted for the longest allowed (an hour): the run must stay on the cached path,
// and a loop that never yields could not finish a lookup.
const manager = await KeyManager.open({
  store: new MemoryKeyStore(),
  pollIntervalMs: 0,
  flushIntervalMs: 0,
  cache: { ttlMs: 3_600_000 },
});
const open = await manager.create({ name: 'open' });
const ip = await manager.create({ name: 'ip64', ipAllow: ranges });
const ip6 = await manager.create({ name: 'ip64v6', ipAllow: v6ranges });
const all = await manager.create({
  name: 'all',
  ipAllow: ranges,
  originAllow: ['https://app.example.com'],
  routes: ['GET /reports/*', 'POST /jobs'],
});
// An owner restricted to the client's /24: its keys pass its restrictions and their own.
await manager.createOwner({ name: 'acme', ipAllow: '203.0.113.0/24' });
const ownerOnly = await manager.create({ name: 'owner only', owner: 'acme' });
const both = await manager.create({ name: 'owner + key', owner: 'acme', ipAllow: ranges });
const guard = createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: manager.verifier() });

function expectCode(source: KeySource, code: string): void {
  // Twice: the first verification reads the store, the second is the cached hot path.
  for (let i = 0; i < 2; i++) {
    const r = guard.authenticate(source);
    if (r instanceof Promise) {
      void r.then((x) => check(x, code));
      continue;
    }
    check(r, code);
  }
}
function check(r: AuthResult<unknown>, code: string): void {
  const got = r.ok ? 'ok' : r.failure.code;
  if (got !== code) throw new Error(`expected ${code}, got ${got}`);
}

const cases: Record<string, [KeySource, string]> = {
  unrestricted: [new Source(open.key, '203.0.113.9'), 'ok'],
  'ipv4, 64 ranges, in the last': [new Source(ip.key, '203.0.113.9'), 'ok'],
  'mapped ipv4, 64 ranges, in the last': [new Source(ip.key, '::ffff:203.0.113.9'), 'ok'],
  'ipv4, 64 ranges, outside all (403)': [new Source(ip.key, '198.51.100.1'), 'restricted'],
  'ipv6, 64 ranges, in the last': [new Source(ip6.key, '2001:db8:ffff::9'), 'ok'],
  'ipv4 + route (origin refused, 403)': [new Source(all.key, '203.0.113.9'), 'restricted'],
  'owner /24 only, key none': [new Source(ownerOnly.key, '203.0.113.9'), 'ok'],
  'owner /24 + key 64 ranges, in both': [new Source(both.key, '203.0.113.9'), 'ok'],
  'owner /24 + key 64 ranges, outside (403)': [new Source(both.key, '198.51.100.1'), 'restricted'],
};
for (const [source, code] of Object.values(cases)) expectCode(source, code);
await new Promise((resolve) => setTimeout(resolve, 10));
for (const [source, code] of Object.values(cases)) expectCode(source, code);

// CPU time of this process, not wall time: on a shared machine other processes' turns
// are not counted (the cost of sharing caches still is).
function cpuNs(run: () => void): number {
  const c0 = process.cpuUsage();
  run();
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / N;
}
const authenticate = (source: KeySource) => () => {
  for (let i = 0; i < N; i++) {
    if (guard.authenticate(source) instanceof Promise) throw new Error('left the cached path');
  }
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const added: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
// Interleaved rounds, each case paired with an unrestricted run just before it: drift
// (CPU frequency, other processes) touches both sides of each difference alike.
const [openSource] = cases['unrestricted']!;
for (let round = 0; round < ROUNDS; round++) {
  await new Promise((resolve) => setImmediate(resolve));
  for (const [name, [source]] of Object.entries(cases)) {
    const base = cpuNs(authenticate(openSource));
    const t = cpuNs(authenticate(source));
    results[name]!.push(t);
    added[name]!.push(t - base);
  }
}

// The check alone, as the guard calls it, for each kind of client address.
const restriction = (await manager.check(ip.key, { dryRun: true })).principal!.restrictions!;
const restriction6 = (await manager.check(ip6.key, { dryRun: true })).principal!.restrictions!;
const peer = (s: KeySource) => s.peer?.();
const alone: Record<string, [typeof restriction, KeySource]> = {
  'check alone: ipv4, 64 ranges': [restriction, new Source(ip.key, '203.0.113.9')],
  'check alone: mapped ipv4, 64 ranges': [restriction, new Source(ip.key, '::ffff:203.0.113.9')],
  'check alone: ipv4 outside, 64 ranges': [restriction, new Source(ip.key, '198.51.100.1')],
  'check alone: ipv6, 64 ranges, the last': [restriction6, new Source(ip6.key, '2001:db8:ffff::9')],
};
const aloneResults: Record<string, number[]> = Object.fromEntries(Object.keys(alone).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, [r, source]] of Object.entries(alone)) {
    aloneResults[name]!.push(
      cpuNs(() => {
        for (let i = 0; i < N; i++) r.refusal(source, peer);
      }),
    );
  }
}

const out: Record<string, number> = {};
console.log(`${'case'.padEnd(40)} ns/auth  added (median of paired differences)`);
for (const [name, xs] of Object.entries(results)) {
  const m = median(xs);
  out[name] = Math.round(m);
  const extra = name === 'unrestricted' ? '' : `${median(added[name]!).toFixed(0)} ns`;
  if (name !== 'unrestricted') out[`${name}: added`] = Math.round(median(added[name]!));
  console.log(`${name.padEnd(40)} ${m.toFixed(0).padStart(7)}  ${extra}`);
}
for (const [name, xs] of Object.entries(aloneResults)) {
  const m = median(xs);
  out[name] = Math.round(m);
  console.log(`${name.padEnd(40)} ${m.toFixed(0).padStart(7)}`);
}
console.log(`BENCH_RESTRICTIONS ${JSON.stringify(out)}`);
await manager.close();
