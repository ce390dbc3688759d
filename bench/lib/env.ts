/** What a result depends on besides the code: the machine, the pinning, package versions. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { hasCommand } from './proc.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly os: string;
  readonly memoryGiB: number;
  readonly loadAverage: readonly number[];
}

export function machine(): Machine {
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export interface Pinning {
  readonly server: string | undefined;
  readonly load: string | undefined;
  readonly note: string;
}

/** Server on CPU 0, load generator on CPU 1, when taskset exists and there are two cores. */
export function pinning(): Pinning {
  if (!hasCommand('taskset'))
    return { server: undefined, load: undefined, note: 'taskset not found: unpinned' };
  if (os.availableParallelism() < 2) {
    return { server: undefined, load: undefined, note: 'one CPU: server and load generator share it' };
  }
  return { server: '0', load: '1', note: 'server on CPU 0, load generator on CPU 1 (taskset)' };
}

/** Installed versions of every measured package (read from node_modules). */
export function versions(names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    try {
      const pkg = JSON.parse(readFileSync(`${root}node_modules/${name}/package.json`, 'utf8')) as {
        version: string;
      };
      out[name] = pkg.version;
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}

/** The commit measured, and whether the packages had uncommitted changes. */
export function gitState(): { commit: string; srcDirty: boolean } {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      // What the harness compiles and runs: keyward and the benchmark's own processes.
      srcDirty: git('status', '--porcelain', 'packages', 'bench/servers', 'bench/lib', 'bench/micro') !== '',
    };
  } catch {
    return { commit: 'unknown', srcDirty: false };
  }
}

export const MEASURED_PACKAGES = [
  'hono',
  '@hono/node-server',
  'fastify',
  '@fastify/bearer-auth',
  'express',
  'passport',
  'passport-headerapikey',
  'better-sqlite3',
  'lru-cache',
  'autocannon',
  'tsx',
] as const;
