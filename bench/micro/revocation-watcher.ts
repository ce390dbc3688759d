/**
 * Instance B of bench/micro/revocation.ts: a second key manager on the same store. Reads
 * the keys (one JSON line), verifies each once so it is cached, prints READY; then for
 * each `WATCH i` spins verifying key i and prints `SEEN i <time>` once it is refused.
 */
import { createInterface } from 'node:readline';
import { AuthFailure, apiKeyHeader, type VerifyContext } from 'keyward';
import { openStoreVerifier, type StoreTarget } from '../lib/keystore.js';

const cfg = JSON.parse(process.env.BENCH_CONFIG ?? '{}') as { target: StoreTarget; pepper: string };
const v = await openStoreVerifier(cfg.target, cfg.pepper);
const context: VerifyContext = { scheme: apiKeyHeader({ name: 'X-API-Key' }), scopes: [] };
const now = () => performance.timeOrigin + performance.now();
let keys: string[] = [];

function watch(i: number): void {
  const key = keys[i]!;
  const check = (value: unknown) => {
    if (!value || value instanceof AuthFailure) process.stdout.write(`SEEN ${i} ${now()}\n`);
    // setImmediate lets the store's change notification in between two checks.
    else setImmediate(spin);
  };
  const spin = () => {
    const r = v.verify(key, context);
    if (r instanceof Promise) r.then(check);
    else check(r);
  };
  process.stdout.write(`WATCHING ${i}\n`);
  spin();
}

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  if (line.startsWith('[')) {
    keys = JSON.parse(line) as string[];
    for (const key of keys) {
      if (!(await v.verify(key, context))) throw new Error('a fresh key did not verify');
    }
    process.stdout.write('READY\n');
  } else if (line.startsWith('WATCH ')) watch(Number(line.slice(6)));
});
lines.on('close', () => {
  void v.close().then(() => process.exit(0));
});
