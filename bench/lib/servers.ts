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
  /** `keyward serve`: newline-terminated lines it wrote to stdout so far (its request log). */
  logLines?(): number;
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
/** The installed `keyward` command: it loads packages/server/dist, which the harness builds first. */
const keywardBin = fileURLToPath(new URL('../../packages/server/bin/keyward.js', import.meta.url));

/** Every server child still running, killed when the harness exits whatever the cause. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

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
  track(child);
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

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export interface ServeOptions {
  readonly id: string;
  /** The SQLite key store; its pepper is read from `<path>.pepper`, as serve does. */
  readonly database: string;
  readonly logLevel: 'info' | 'silent';
  /** Another build's `keyward` command (`--serve-baseline`); default this tree's. */
  readonly bin?: string;
  readonly cpu: string | undefined;
  readonly timeoutMs?: number;
}

/**
 * `keyward serve` as a user runs it: the installed command with its default options but
 * the port (0, an ephemeral one), on the 1M-key store, `--log-level` as asked. Ready when
 * it prints its URL on stderr; its stdout (the JSON request log) is read and its lines
 * counted, as a log collector reading a pipe would.
 */
export function startServe(options: ServeOptions): Promise<RunningServer> {
  const argv = [process.execPath, options.bin ?? keywardBin, 'serve', '--host', '127.0.0.1', '--port', '0'];
  argv.push('--db', options.database);
  if (options.logLevel !== 'info') argv.push('--log-level', options.logLevel);
  const [cmd, args] = launch(argv, options.cpu);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  // Only the store's own settings: nothing from the caller's environment may change serve's.
  for (const name of Object.keys(env)) if (name.startsWith('KEYWARD_')) delete env[name];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  track(child);
  let lines = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  });
  // Lines flushed as serve exits arrive after its exit: stop() waits for the end of stdout.
  const drained = new Promise<void>((done) => child.stdout!.once('close', () => done()));
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timeout = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.id} did not start within ${timeout} ms: ${stderr}`));
    }, timeout);
    child.on('error', reject);
    const early = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${options.id} exited (${code ?? signal}) before it was ready: ${stderr.trim()}`));
    };
    child.on('exit', early);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
      const url = /listening on (http:\/\/[^\s]+)/.exec(stderr)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      child.off('exit', early);
      child.stderr!.removeAllListeners('data');
      child.stderr!.resume();
      resolve(running(options.id, child, url, { lines: () => lines, drained }));
    });
  });
}

function running(
  id: string,
  child: ChildProcess,
  url: string,
  log?: { lines(): number; drained: Promise<void> },
): RunningServer {
  const pid = child.pid!;
  let peak: number | undefined;
  return {
    ...(log ? { logLines: log.lines } : {}),
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
      if (log) await Promise.race([log.drained, new Promise((done) => setTimeout(done, 3000))]);
    },
  };
}
