/**
 * Target 7: how long after one instance revokes a key the other instance refuses it.
 * This process is instance A; it starts instance B (revocation-watcher.ts) on the same
 * PostgreSQL schema. For each key, B spins verifying it (cached, so answered locally)
 * while A revokes it; B reports when it first refuses it. Both read the same clock
 * (`performance.timeOrigin + performance.now()`). Prints `BENCH_REVOKE`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openStoreVerifier, type StoreTarget, wipe } from '../lib/keystore.js';
import { percentile } from '../lib/stats.js';

const cfg = JSON.parse(process.env.BENCH_CONFIG ?? '{}') as { target: StoreTarget; samples: number };
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await wipe(cfg.target);
const pepper = randomBytes(32).toString('base64url');
const a = await openStoreVerifier(cfg.target, pepper);
const created = [];
for (let i = 0; i < cfg.samples; i++) created.push(await a.manager.create({ name: `revoke-${i}` }));

// Compiled by the harness (bench/lib/build.ts), or run from source through tsx.
const fromSource = import.meta.url.endsWith('.ts');
const watcher = fileURLToPath(new URL(`./revocation-watcher.${fromSource ? 'ts' : 'js'}`, import.meta.url));
const b = spawn(process.execPath, fromSource ? ['--import', 'tsx', watcher] : [watcher], {
  stdio: ['pipe', 'pipe', 'inherit'],
  env: { ...process.env, BENCH_CONFIG: JSON.stringify({ target: cfg.target, pepper }) },
});
const waiting = new Map<string, (rest: string) => void>();
createInterface({ input: b.stdout! }).on('line', (line) => {
  const [word, ...rest] = line.split(' ');
  const key = `${word} ${rest[0] ?? ''}`.trim();
  waiting.get(key)?.(rest.slice(1).join(' '));
  waiting.delete(key);
});
const expect = (what: string, ms: number) =>
  new Promise<string | undefined>((resolve) => {
    const t = setTimeout(() => resolve(undefined), ms);
    waiting.set(what, (rest) => {
      clearTimeout(t);
      resolve(rest);
    });
  });

const ready = expect('READY', 60_000);
b.stdin!.write(`${JSON.stringify(created.map((c) => c.key))}\n`);
if ((await ready) === undefined) throw new Error('instance B did not start');

const afterCommit: number[] = [];
const afterCall: number[] = [];
let missed = 0;
for (let i = 0; i < created.length; i++) {
  const watching = expect(`WATCHING ${i}`, 5000);
  const seen = expect(`SEEN ${i}`, 5000);
  b.stdin!.write(`WATCH ${i}\n`);
  await watching;
  await sleep(5);
  const t0 = now();
  await a.manager.revoke(created[i]!.record.id);
  const t1 = now();
  const at = await seen;
  if (at === undefined) {
    missed++;
    afterCommit.push(5000);
    afterCall.push(5000);
    continue;
  }
  afterCommit.push(Math.max(0, Number(at) - t1));
  afterCall.push(Number(at) - t0);
}
b.stdin!.end();
await a.close();
await wipe(cfg.target);
process.stdout.write(
  `BENCH_REVOKE ${JSON.stringify({
    samples: created.length,
    missed,
    p50Ms: percentile(afterCommit, 50),
    p99Ms: percentile(afterCommit, 99),
    maxMs: Math.max(...afterCommit),
    fromCallP99Ms: percentile(afterCall, 99),
  })}\n`,
);
process.exit(0);
