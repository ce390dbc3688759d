import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Access to the machine's PostgreSQL and Redis for tests, and throwaway servers that a
 * test owns (and may stop and start) for fault tests. Tests that need a service skip
 * with a clear message when it is unreachable, except under CI=true, where they fail.
 */
export const inCI = process.env.CI === 'true';

export const PG_URL = process.env.KEYWARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.KEYWARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections at host:port. */
export function reachable(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return import('node:net').then(
    ({ connect }) =>
      new Promise<boolean>((resolve) => {
        const socket = connect({ port, host });
        const done = (ok: boolean) => {
          socket.destroy();
          resolve(ok);
        };
        socket.setTimeout(timeoutMs, () => done(false));
        socket.once('connect', () => done(true));
        socket.once('error', () => done(false));
      }),
  );
}

/**
 * Decides whether a suite needing `service` runs: true when reachable; when not, false
 * with a printed reason, or a thrown error under CI=true.
 */
export async function requireService(service: 'PostgreSQL' | 'Redis', port: number): Promise<boolean> {
  if (await reachable(port)) return true;
  const message = `${service} is not reachable on 127.0.0.1:${port}`;
  if (inCI) throw new Error(`${message} (required under CI=true)`);
  console.warn(`skipping: ${message}`);
  return false;
}

/**
 * Whether this test may start servers of its own (redis-server and the PostgreSQL server
 * binaries are installed): false with a printed reason, or a thrown error under CI=true.
 */
export function ownServersPossible(): boolean {
  let redis = false;
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    redis = true;
  } catch {}
  const ok = redis && existsSync('/usr/lib/postgresql');
  const message = 'redis-server or the PostgreSQL server binaries (/usr/lib/postgresql) are missing';
  if (!ok && inCI) throw new Error(`${message} (required under CI=true)`);
  if (!ok) console.warn(`skipping: ${message}`);
  return ok;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A redis-server of the test's own on its own port (never the machine's shared one). */
export class OwnRedis {
  #child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await waitFor(() => reachable(this.port), `redis-server on ${this.port}`);
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing is answered, as a hung Redis. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Lets a paused server run again (SIGCONT). */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.#child = undefined;
  }
}

function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const version = existsSync(base) ? readdirSync(base).sort().pop() : undefined;
  if (!version) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql');
  return join(base, version, 'bin', name);
}

/**
 * A throwaway PostgreSQL cluster: initdb into a temporary folder, its own port, pg_ctl to
 * stop and start it. PostgreSQL refuses to run as root, so it runs as `postgres`.
 */
export class OwnPostgres {
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<OwnPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-pg-'));
    chmodSync(dir, 0o777);
    const pg = new OwnPostgres(await freePort(), dir);
    pg.#asPostgres(pgBin('initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await pg.start();
    return pg;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  #asPostgres(command: string, args: string[]): void {
    const asRoot = process.getuid?.() === 0;
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
    execFileSync(cmd, argv, { stdio: 'ignore' });
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    this.#asPostgres(pgBin('pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-o',
      options,
      '-l',
      join(this.dir, 'log'),
      '-w',
      'start',
    ]);
    await waitFor(() => reachable(this.port), `postgres on ${this.port}`);
  }

  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    this.#asPostgres(pgBin('pg_ctl'), ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    try {
      await this.stop('immediate');
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
