/**
 * Runs an in-process measurement (bench/micro/*.ts, compiled: see build.ts) as its own
 * process, pinned to the server core, after the load cases: it reads `BENCH_CONFIG` and
 * prints one line `<MARKER> <json>`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compiled } from './build.js';
import { launch } from './proc.js';

export function runChild<T>(
  script: string,
  config: object,
  cpu: string | undefined,
  marker: string,
): Promise<T> {
  const file = fileURLToPath(new URL(`../micro/${script}`, import.meta.url));
  const node = [process.execPath, compiled(file)];
  const [cmd, args] = launch(node, cpu);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
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
      const line = out.split('\n').find((l) => l.startsWith(`${marker} `));
      if (!line)
        reject(new Error(`${script} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`));
      else resolve(JSON.parse(line.slice(marker.length + 1)) as T);
    });
  });
}
