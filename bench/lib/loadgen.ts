/**
 * The load generator: wrk (Debian's `wrk`, LuaJIT scripts in bench/lua) when installed,
 * autocannon (a devDependency) otherwise. Each run is its own process, pinned to the
 * load core when `taskset` exists, and reports through one `BENCH_JSON` line.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunResult } from './model.js';
import { commandLine, cpuSeconds, hasCommand, launch } from './proc.js';

export interface FloodSpec {
  readonly header: string;
  readonly prefix: string;
  readonly validFile: string;
  readonly unknownFile: string;
  /** Index of the first unknown key to use, so runs never repeat one. */
  readonly offset: number;
}

export interface LoadRequest {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly flood?: FloodSpec;
}

export interface LoadGenerator {
  readonly name: 'wrk' | 'autocannon';
  readonly version: string;
  /** Why this generator was chosen, printed with the results. */
  readonly note?: string;
  run(request: LoadRequest, cpu: string | undefined): Promise<RunResult>;
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

interface Raw {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
  generated: number;
}

/** Runs one load process and turns its report line into a {@link RunResult}. */
function runProcess(command: string, args: readonly string[], cpu: string | undefined): Promise<RunResult> {
  const [cmd, argv] = launch([command, ...args], cpu);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid!;
    const started = process.hrtime.bigint();
    let cpuAtReport: number | undefined;
    let lastCpu: number | undefined;
    // Sampled because the process may be gone when its output is read.
    const sampler = setInterval(() => {
      lastCpu = cpuSeconds(pid) ?? lastCpu;
    }, 200);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (cpuAtReport === undefined && out.includes('BENCH_JSON')) cpuAtReport = cpuSeconds(pid);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sampler);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (!line) {
        reject(new Error(`${command} exited with ${code} without a report: ${err || out.slice(-500)}`));
        return;
      }
      const raw = JSON.parse(line.slice('BENCH_JSON '.length)) as Raw;
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      const used = cpuAtReport ?? lastCpu;
      const seconds = raw.durationUs / 1e6;
      resolve({
        rps: seconds > 0 ? raw.requests / seconds : 0,
        requests: raw.requests,
        seconds,
        p50Us: raw.p50Us,
        p99Us: raw.p99Us,
        non2xx: raw.status,
        socketErrors: raw.connect + raw.read + raw.write + raw.timeout,
        generated: raw.generated,
        ...(used !== undefined ? { loadCpu: (100 * used) / wall } : {}),
      });
    });
  });
}

function wrk(version: string): LoadGenerator {
  return {
    name: 'wrk',
    version,
    run(req, cpu) {
      const base = ['-t1', `-c${req.connections}`, `-d${req.seconds}s`, '--timeout', '5s'];
      if (req.flood) {
        const f = req.flood;
        const args = [...base, '-s', here('../lua/flood.lua'), req.url, '--'];
        return runProcess(
          'wrk',
          [...args, f.header, f.prefix, f.validFile, f.unknownFile, String(f.offset)],
          cpu,
        );
      }
      const headers = req.headers.flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
      return runProcess('wrk', [...base, ...headers, '-s', here('../lua/report.lua'), req.url], cpu);
    },
  };
}

function autocannon(version: string, note: string): LoadGenerator {
  return {
    name: 'autocannon',
    version,
    note,
    run(req, cpu) {
      const worker = here('./autocannon-worker.ts');
      return runProcess(process.execPath, ['--import', 'tsx', worker, JSON.stringify(req)], cpu);
    },
  };
}

/**
 * wrk when it is on the PATH (or asked for), autocannon otherwise; never installs anything.
 * `prefer` comes from `--loadgen`.
 */
export function chooseLoadGenerator(
  prefer: 'wrk' | 'autocannon' | undefined,
  acVersion: string,
): LoadGenerator {
  const haveWrk = hasCommand('wrk');
  if (prefer !== 'autocannon' && haveWrk) {
    const v = commandLine('wrk', ['--version'])?.match(/wrk\s+(\S+)/)?.[1] ?? 'unknown';
    return wrk(v);
  }
  if (prefer === 'wrk') throw new Error('--loadgen wrk: wrk is not installed (Debian: apt-get install wrk)');
  const why = haveWrk
    ? 'autocannon chosen with --loadgen autocannon'
    : 'wrk not found (Debian: apt-get install -y wrk); using autocannon, which runs on the JS event loop ' +
      'and may saturate its core before a fast server does: compare ratios, not absolute rps';
  return autocannon(acVersion, why);
}
