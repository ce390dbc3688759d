/**
 * Starting and stopping the benchmark servers: each is its own Node process
 * (`node bench/.cache/build/bench/servers/<entry>.js`, see build.ts), pinned to the
 * server core when `taskset` exists, configured through `BENCH_CONFIG`, and ready when it
 * prints its port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compiled } from './build.js';
import { cpuSeconds, launch, rssMiB } from './proc.js';

export interface RunningServer {
  readonly id: string;
  readonly pid: number;
  readonly url: string;
  /** Peak VmRSS seen by {@link RunningServer.sampleRss}, MiB. */
  readonly rssPeakMiB: number | undefined;
  sampleRss(): void;
  cpuSeconds(): number | undefined;
  /** GET a path and parse the JSON body (for counters), or just return the status. */
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly id: string;
  /** File name under bench/servers. */
  readonly entry: string;
  readonly config: object;
  /** `taskset -c` CPU list, or undefined to leave it unpinned. */
  readonly cpu: string | undefined;
  readonly timeoutMs?: number;
}

const serversDir = fileURLToPath(new URL('../servers/', import.meta.url));

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export function startServer(options: StartOptions): Promise<RunningServer> {
  const node = [process.execPath, compiled(serversDir + options.entry)];
  const [cmd, args] = launch(node, options.cpu);
  const child = spawn(cmd, args, {
    // stdin stays open as a lifeline: a server exits when it closes (see servers/common.ts).
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production', BENCH_CONFIG: JSON.stringify(options.config) },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.id} did not start within ${options.timeoutMs ?? 60_000} ms: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.id} exited (${code ?? signal}) before it was ready: ${stderr.trim()}`));
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('BENCH_READY '));
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      const { port } = JSON.parse(line.slice('BENCH_READY '.length)) as { port: number };
      resolve(running(options.id, child, `http://127.0.0.1:${port}`));
    });
  });
}

function running(id: string, child: ChildProcess, url: string): RunningServer {
  const pid = child.pid!;
  let peak: number | undefined;
  return {
    id,
    pid,
    url,
    get rssPeakMiB() {
      return peak;
    },
    sampleRss() {
      const rss = rssMiB(pid);
      if (rss !== undefined && (peak === undefined || rss > peak)) peak = rss;
    },
    cpuSeconds: () => cpuSeconds(pid),
    async get(path, headers = {}) {
      const res = await fetch(url + path, { headers });
      return { status: res.status, body: await res.text() };
    },
    async stop() {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 3000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 3000);
      }
    },
  };
}
