/**
 * Timing-distribution checks (a script, not a test): can a client tell kinds of keys apart
 * by how long the answer takes? Two sections, each against a server in a child process (so
 * the client's work does not share the server's event loop), requests one at a time over
 * one keep-alive connection, the classes interleaved in random order so drift of a shared
 * machine lands on all of them:
 *
 * - static: the demo app with `staticKeys`. Near-miss keys (the valid key's prefix with a
 *   wrong tail) against random keys of the same length. If comparison stopped at the first
 *   differing byte, near misses would take longer; keyward compares fixed-length digests.
 * - store: the demo app on a SQLite key store, as `keyward serve` runs it. A valid key and
 *   one revoked, one disabled and one expired key, each sent over and over (so cached), and
 *   revoked keys sent once each (first seen), each against made-up well-formed keys (a
 *   fresh one every time): does the answer tell a key that was issued from one that never
 *   was?
 *
 *   node --import tsx bench/timing.ts [--only static|store] [--samples 20000]
 *     [--first-seen 3000] [--warmup 2000] [--json]
 *   node --import tsx bench/timing.ts --url http://127.0.0.1:8000 --key <valid key>   (static only)
 *
 * Reported per class: median, p10, p90, p99; per comparison a two-sample
 * Kolmogorov-Smirnov test on the whole distributions and Welch's t-test on the means of the
 * samples below the pooled p99 (network outliers would dominate a mean).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DEFAULT_KEY = `kw_${randomString(38)}`;

function randomString(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(ALPHABET[randomInt(ALPHABET.length)]!);
  return out.join('');
}

/**
 * A flat copy of a string. Keys built by concatenation are V8 rope strings of different
 * depths for the two classes, and flattening them inside the timed request would favour
 * the shallower class by microseconds (it did, before this).
 */
function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/** The valid key with its last `tail` characters replaced by other characters. */
export function nearMiss(key: string, tail = 4): string {
  const out = [...key];
  for (let i = key.length - tail; i < key.length; i++) {
    let c: string;
    do c = ALPHABET[randomInt(ALPHABET.length)]!;
    while (c === key[i]);
    out[i] = c;
  }
  return flat(out.join(''));
}

function randomKey(like: string): string {
  return flat(`kw_${randomString(like.length - 3)}`);
}

export function quantile(sorted: readonly number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/** Two-sample Kolmogorov-Smirnov: statistic D and its asymptotic p-value. */
export function ksTest(a: readonly number[], b: readonly number[]): { d: number; p: number } {
  const x = [...a].sort((u, v) => u - v);
  const y = [...b].sort((u, v) => u - v);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const en = Math.sqrt((x.length * y.length) / (x.length + y.length));
  const lambda = (en + 0.12 + 0.11 / en) * d;
  let p = 0;
  for (let k = 1; k <= 100; k++) p += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k * lambda * lambda);
  return { d, p: Math.min(1, Math.max(0, p)) };
}

function erfc(x: number): number {
  // Numerical Recipes' erfc (fractional error < 1.2e-7), enough for p-values.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Welch's t-test; with thousands of samples the t distribution is the normal one. */
export function welchTest(a: readonly number[], b: readonly number[]): { t: number; p: number } {
  const stats = (s: readonly number[]) => {
    const mean = s.reduce((acc, v) => acc + v, 0) / s.length;
    const variance = s.reduce((acc, v) => acc + (v - mean) ** 2, 0) / (s.length - 1);
    return { mean, variance, n: s.length };
  };
  const sa = stats(a);
  const sb = stats(b);
  const t = (sa.mean - sb.mean) / Math.sqrt(sa.variance / sa.n + sb.variance / sb.n);
  return { t, p: erfc(Math.abs(t) / Math.SQRT2) };
}

function send(agent: Agent, url: URL, key: string, expect = 401): Promise<number> {
  return new Promise((resolve, reject) => {
    let start = 0n;
    const req = request(url, { agent, headers: { 'x-api-key': key } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== expect) reject(new Error(`expected ${expect}, got ${res.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - start) / 1000);
      });
    });
    req.on('error', reject);
    // The clock starts once the client has built the request: only the exchange is timed.
    start = process.hrtime.bigint();
    req.end();
  });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

async function serveStatic(): Promise<void> {
  const { staticKeys } = await import('keyward');
  const { createDemoApp } = await import('@keyward/server');
  const { listen } = await import('@keyward/server');
  const key = process.env.TIMING_KEY ?? DEFAULT_KEY;
  const server = await listen(createDemoApp({ verify: staticKeys([key]) }), 0, '127.0.0.1');
  process.stdout.write(`READY ${JSON.stringify({ port: server.port })}\n`);
}

/** What the store server tells the client: its port and the keys of each class. */
interface StoreKeys {
  port: number;
  valid: string;
  revoked: string;
  disabled: string;
  expired: string;
  firstSeen: string[];
}

async function serveStore(): Promise<void> {
  const { openKeyManager } = await import('@keyward/server');
  const { createDemoApp } = await import('@keyward/server');
  const { listen } = await import('@keyward/server');
  const dir = mkdtempSync(join(tmpdir(), 'keyward-timing-'));
  const manager = await openKeyManager({
    database: join(dir, 'keys.db'),
    pepper: randomBytes(32).toString('base64'),
    env: {},
    notice: () => {},
  });
  const firstSeenCount = Number(process.env.TIMING_FIRST_SEEN ?? 3000);
  const create = async (name: string, settings: { expiresIn?: number } = {}) =>
    manager.create({ name, ...settings });
  const valid = await create('valid');
  const revoked = await create('revoked');
  await manager.revoke(revoked.record.id);
  const disabled = await create('disabled');
  await manager.disable(disabled.record.id);
  const expired = await create('expired', { expiresIn: 1 });
  const firstSeen: string[] = [];
  for (let i = 0; i < firstSeenCount; i++) {
    const k = await create(`first-seen-${i}`);
    await manager.revoke(k.record.id);
    firstSeen.push(k.key);
  }
  await new Promise((r) => setTimeout(r, 20)); // the expired key's 1 ms has passed
  const server = await listen(createDemoApp({ verify: manager.verifier() }), 0, '127.0.0.1');
  const stop = async () => {
    await server.close();
    await manager.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  const keys: StoreKeys = {
    port: server.port,
    valid: valid.key,
    revoked: revoked.key,
    disabled: disabled.key,
    expired: expired.key,
    firstSeen,
  };
  process.stdout.write(`READY ${JSON.stringify(keys)}\n`);
}

function startServer<T>(
  mode: string,
  env: Record<string, string>,
): Promise<{ info: T; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, mode], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = /READY (.*)\n/.exec(out)?.[1];
      if (line) {
        out = '';
        resolve({
          info: JSON.parse(line) as T,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}

interface Summary {
  n: number;
  p10: number;
  median: number;
  p90: number;
  p99: number;
}

function summary(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    p10: quantile(s, 0.1),
    median: quantile(s, 0.5),
    p90: quantile(s, 0.9),
    p99: quantile(s, 0.99),
  };
}

interface Comparison {
  a: string;
  b: string;
  deltaMedian: number;
  ks: { d: number; p: number };
  welch: { t: number; p: number };
  verdict: string;
}

function compare(a: string, sa: readonly number[], b: string, sb: readonly number[]): Comparison {
  const cut = quantile(
    [...sa, ...sb].sort((x, y) => x - y),
    0.99,
  );
  const ks = ksTest(sa, sb);
  const welch = welchTest(
    sa.filter((v) => v <= cut),
    sb.filter((v) => v <= cut),
  );
  const below = [ks.p, welch.p].filter((p) => p < 0.01).length;
  const verdict =
    below === 0
      ? 'indistinguishable at this sample size (both tests p >= 0.01)'
      : below === 1
        ? 'inconclusive: one test p < 0.01; rerun (machine noise and drift cause this too)'
        : 'DISTINGUISHABLE at this sample size (both tests p < 0.01)';
  const deltaMedian =
    quantile(
      [...sa].sort((x, y) => x - y),
      0.5,
    ) -
    quantile(
      [...sb].sort((x, y) => x - y),
      0.5,
    );
  return { a, b, deltaMedian, ks, welch, verdict };
}

function printSection(title: string, classes: Record<string, number[]>, comparisons: Comparison[]): void {
  console.log(`\n${title}`);
  for (const [name, s] of Object.entries(classes)) {
    const m = summary(s);
    console.log(
      `  ${name.padEnd(20)} n=${String(m.n).padEnd(6)} p10 ${m.p10.toFixed(1).padStart(6)}  median ${m.median.toFixed(1).padStart(6)}  p90 ${m.p90.toFixed(1).padStart(6)}  p99 ${m.p99.toFixed(1).padStart(7)} µs`,
    );
  }
  for (const c of comparisons) {
    console.log(
      `  ${c.a} vs ${c.b}: Δmedian ${c.deltaMedian >= 0 ? '+' : ''}${c.deltaMedian.toFixed(1)} µs, KS D=${c.ks.d.toFixed(4)} p=${c.ks.p.toPrecision(3)}, Welch t=${c.welch.t.toFixed(2)} p=${c.welch.p.toPrecision(3)}: ${c.verdict}`,
    );
  }
}

/**
 * Sends every step of the plan, one at a time, and files each time under its class. All
 * keys are made before the first request, flat: building a key costs the client more for
 * some classes than others, and that work (and the garbage it leaves) must not fall
 * between measurements of one class only.
 */
async function run(
  url: URL,
  plan: readonly { cls: string; key: string; status: number }[],
): Promise<Record<string, number[]>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const out: Record<string, number[]> = {};
  try {
    for (const step of plan) {
      const micros = await send(agent, url, step.key, step.status);
      const list = out[step.cls] ?? [];
      list.push(micros);
      out[step.cls] = list;
    }
  } finally {
    agent.destroy();
  }
  return out;
}

async function staticSection(samples: number, warmup: number) {
  const key = arg('key') ?? DEFAULT_KEY;
  const external = arg('url');
  const server = external
    ? { info: { port: 0 }, stop: async () => {} }
    : await startServer<{ port: number }>('--serve', { TIMING_KEY: key });
  const url = new URL(
    external ? new URL('/secure-data', external).href : `http://127.0.0.1:${server.info.port}/secure-data`,
  );
  try {
    const warm = Array.from({ length: warmup }, (_, i) => ({
      cls: 'warmup',
      key: i % 2 ? nearMiss(key) : randomKey(key),
      status: 401,
    }));
    await run(url, warm);
    // A fresh key every time, so no cache on the way can tell the classes apart either.
    const plan: { cls: string; key: string; status: number }[] = [];
    for (let i = 0; i < samples; i++) {
      plan.push(
        { cls: 'near-miss', key: nearMiss(key), status: 401 },
        { cls: 'random', key: randomKey(key), status: 401 },
      );
    }
    const measured = await run(url, shuffle(plan));
    const times = { 'near-miss': measured['near-miss']!, random: measured.random! };
    return {
      classes: times,
      comparisons: [compare('near-miss', times['near-miss'], 'random', times.random)],
    };
  } finally {
    await server.stop();
  }
}

async function storeSection(samples: number, warmup: number, firstSeen: number) {
  const { keyFormat } = await import('@keyward/keys');
  const format = keyFormat('kw');
  const madeUp = () => flat(format.generate());
  const server = await startServer<StoreKeys>('--serve-store', { TIMING_FIRST_SEEN: String(firstSeen) });
  const keys = server.info;
  const url = new URL(`http://127.0.0.1:${keys.port}/secure-data`);
  const cached = [
    { cls: 'valid (200)', key: flat(keys.valid), status: 200 },
    { cls: 'revoked, cached', key: flat(keys.revoked), status: 401 },
    { cls: 'disabled, cached', key: flat(keys.disabled), status: 401 },
    { cls: 'expired, cached', key: flat(keys.expired), status: 401 },
  ];
  try {
    // Warms the server and caches each key of the cached classes (the first request of each).
    const warm = Array.from({ length: warmup }, (_, i) =>
      i % 5 === 4 ? { cls: 'warmup', key: madeUp(), status: 401 } : { ...cached[i % 5]!, cls: 'warmup' },
    );
    await run(url, warm);
    const plan: { cls: string; key: string; status: number }[] = [];
    for (let i = 0; i < samples; i++) {
      plan.push(...cached, { cls: 'made-up', key: madeUp(), status: 401 });
    }
    for (const key of keys.firstSeen) {
      plan.push({ cls: 'revoked, first seen', key: flat(key), status: 401 });
      // As many made-up keys again, so the first-seen comparison has equal samples.
      plan.push({ cls: 'made-up, paired', key: madeUp(), status: 401 });
    }
    const measured = await run(url, shuffle(plan));
    // In a fixed order for the report.
    const order = [...cached.map((c) => c.cls), 'made-up', 'revoked, first seen', 'made-up, paired'];
    const times = Object.fromEntries(order.filter((c) => measured[c]).map((c) => [c, measured[c]!]));
    const madeUpTimes = times['made-up']!;
    const comparisons = cached.map((c) => compare(c.cls, times[c.cls]!, 'made-up', madeUpTimes));
    if (keys.firstSeen.length > 0) {
      comparisons.push(
        compare(
          'revoked, first seen',
          times['revoked, first seen']!,
          'made-up, paired',
          times['made-up, paired']!,
        ),
      );
    }
    return { classes: times, comparisons };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const samples = Number(arg('samples') ?? 20_000);
  const warmup = Number(arg('warmup') ?? 2000);
  const firstSeen = Number(arg('first-seen') ?? 3000);
  const only = arg('only');
  const json = process.argv.includes('--json');
  const result: Record<string, { classes: Record<string, number[]>; comparisons: Comparison[] }> = {};
  if (only !== 'store') result.static = await staticSection(samples, warmup);
  if (only !== 'static' && arg('url') === undefined)
    result.store = await storeSection(samples, warmup, firstSeen);
  if (json) {
    const out: Record<string, unknown> = {};
    for (const [name, section] of Object.entries(result)) {
      out[name] = {
        classes: Object.fromEntries(Object.entries(section.classes).map(([k, v]) => [k, summary(v)])),
        comparisons: section.comparisons,
      };
    }
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  if (result.static)
    printSection('static keys (staticKeys)', result.static.classes, result.static.comparisons);
  if (result.store)
    printSection('stored keys (SQLite key store)', result.store.classes, result.store.comparisons);
  console.log('\nOn a busy machine, rerun before drawing conclusions.');
  if (result.store) console.log('A valid key is answered 200 with a body: it is expected to differ.');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const mode = process.argv.includes('--serve')
    ? serveStatic()
    : process.argv.includes('--serve-store')
      ? serveStore()
      : main();
  mode.catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
