/** Runs the in-process micro-benchmark of target 5 (bench/micro/verify-uncached.ts) as its own process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PreparedStore } from './keystore.js';
import type { MicroResult } from './model.js';

const script = fileURLToPath(new URL('../micro/verify-uncached.ts', import.meta.url));

export function runMicro(options: {
  store: PreparedStore;
  samples: number;
  cpu: string | undefined;
}): Promise<MicroResult> {
  const node = [process.execPath, '--import', 'tsx', script];
  const [cmd, ...args] = options.cpu ? ['taskset', '-c', options.cpu, ...node] : node;
  const config = { storePath: options.store.path, pepper: options.store.pepper, samples: options.samples };
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production', BENCH_CONFIG: JSON.stringify(config) },
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_MICRO '));
      if (!line) reject(new Error(`exited with ${code}: ${err.trim()}`));
      else resolve(JSON.parse(line.slice('BENCH_MICRO '.length)) as MicroResult);
    });
  });
}
