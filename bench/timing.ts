/**
 * Timing-distribution check (a script, not a test): do near-miss keys (the valid key's
 * prefix with a wrong tail) get answered measurably faster or slower than random keys of
 * the same length? If comparison stopped at the first differing byte, the near misses
 * would take longer; keyward compares fixed-length digests in constant time, so the two
 * distributions should be the same.
 *
 *   node --import tsx bench/timing.ts [--samples 20000] [--warmup 2000] [--json]
 *   node --import tsx bench/timing.ts --url http://127.0.0.1:8000 --key <valid key>
 *
 * Without --url it starts the demo Hono app with `staticKeys` in a child process (so the
 * client's work does not share the server's event loop). Requests go one at a time over
 * one keep-alive connection, the two classes interleaved in random order so drift of a
 * shared machine lands on both. Reported: median, p90, p99 per class, a two-sample
 * Kolmogorov-Smirnov test on the whole distributions and Welch's t-test on the means of
 * the samples below the pooled p99 (network outliers would dominate a mean).
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { Agent, request } from 'node:http';
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

function send(agent: Agent, url: URL, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let start = 0n;
    const req = request(url, { agent, headers: { 'x-api-key': key } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 401) reject(new Error(`expected 401, got ${res.statusCode}`));
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

async function serve(): Promise<void> {
  const { staticKeys } = await import('keyward');
  const { createDemoApp } = await import('@keyward/server');
  const { listen } = await import('@keyward/server');
  const key = process.env.TIMING_KEY ?? DEFAULT_KEY;
  const server = await listen(createDemoApp({ verify: staticKeys([key]) }), 0, '127.0.0.1');
  process.stdout.write(`PORT ${server.port}\n`);
}

function startServer(key: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve'], {
    env: { ...process.env, TIMING_KEY: key },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    child.stdout.setEncoding('utf8').on('data', (line: string) => {
      const port = /PORT (\d+)/.exec(line)?.[1];
      if (port) resolve({ url: `http://127.0.0.1:${port}/secure-data`, stop: () => child.kill() });
    });
  });
}

async function main(): Promise<void> {
  const samples = Number(arg('samples') ?? 20_000);
  const warmup = Number(arg('warmup') ?? 2000);
  const key = arg('key') ?? DEFAULT_KEY;
  const external = arg('url');
  const server = external
    ? { url: new URL('/secure-data', external).href, stop: () => {} }
    : await startServer(key);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(server.url);
  const near: number[] = [];
  const random: number[] = [];
  try {
    for (let i = 0; i < warmup; i++) await send(agent, url, i % 2 ? nearMiss(key) : randomKey(key));
    // Exactly `samples` of each class in a shuffled order, a fresh key every time (so no
    // cache on the way can tell the classes apart either), all generated up front: making
    // a random key costs the client more than a near miss, and that work (and the garbage
    // it leaves) must not fall between measurements of one class only.
    const plan: { near: boolean; key: string }[] = [];
    for (let i = 0; i < samples; i++) {
      plan.push({ near: true, key: nearMiss(key) }, { near: false, key: randomKey(key) });
    }
    for (let i = plan.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    for (const step of plan) {
      const micros = await send(agent, url, step.key);
      (step.near ? near : random).push(micros);
    }
  } finally {
    agent.destroy();
    server.stop();
  }
  report(near, random);
}

function report(near: number[], random: number[]): void {
  const sn = [...near].sort((a, b) => a - b);
  const sr = [...random].sort((a, b) => a - b);
  const cut = quantile(
    [...sn, ...sr].sort((a, b) => a - b),
    0.99,
  );
  const ks = ksTest(near, random);
  const welch = welchTest(
    near.filter((v) => v <= cut),
    random.filter((v) => v <= cut),
  );
  const row = (name: string, s: number[]) =>
    `${name.padEnd(10)} n=${s.length}  median ${quantile(s, 0.5).toFixed(1)} µs  p90 ${quantile(s, 0.9).toFixed(1)} µs  p99 ${quantile(s, 0.99).toFixed(1)} µs`;
  const below = [ks.p, welch.p].filter((p) => p < 0.01).length;
  const distinguishable = below === 2;
  const verdict =
    below === 0
      ? 'indistinguishable at this sample size (both tests p >= 0.01)'
      : below === 1
        ? 'inconclusive: one test p < 0.01; rerun (machine noise and drift cause this too)'
        : 'DISTINGUISHABLE at this sample size (both tests p < 0.01): rerun on a quiet machine; if it persists, investigate';
  if (process.argv.includes('--json')) {
    const summary = (s: number[]) => ({
      n: s.length,
      median: quantile(s, 0.5),
      p90: quantile(s, 0.9),
      p99: quantile(s, 0.99),
    });
    console.log(
      JSON.stringify(
        { nearMiss: summary(sn), random: summary(sr), ks, welch, distinguishable, verdict },
        null,
        2,
      ),
    );
    return;
  }
  console.log(row('near-miss', sn));
  console.log(row('random', sr));
  console.log(`Kolmogorov-Smirnov D=${ks.d.toFixed(4)} p=${ks.p.toPrecision(3)}`);
  console.log(
    `Welch t=${welch.t.toFixed(3)} p=${welch.p.toPrecision(3)} (samples <= pooled p99 ${cut.toFixed(1)} µs)`,
  );
  console.log(verdict);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  (process.argv.includes('--serve') ? serve() : main()).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
