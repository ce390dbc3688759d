import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Node flags that run the TypeScript sources, package names resolved to each package's src/. */
export const SOURCE_FLAGS = ['--conditions=@keyward/source', '--import', 'tsx'];

/** A `keyward` CLI process run from the sources (tsx), with its output collected. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout+stderr. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code once the process has ended. */
  exited(): Promise<number | null>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = root): CliProcess {
  const child = spawn(
    process.execPath,
    [...SOURCE_FLAGS, `${root}packages/server/src/cli/main.ts`, ...args],
    {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d) => {
    out += d;
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d) => {
    err += d;
    for (const l of listeners) l();
  });
  // 'close', not 'exit': it comes once the output pipes are drained, so no last line is missed.
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = (out + err).match(pattern);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}\n${err}`));
        }, timeoutMs);
        listeners.add(check);
        exit.then(() => check());
        check();
      });
    },
  };
}

/** Starts `keyward serve --port 0` and resolves with its base URL. */
export async function startServe(args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  const cli = runCli(['serve', '--port', '0', ...args], env, cwd);
  const [, url] = await cli.waitFor(/listening on (http:\/\/\S+)/);
  return { cli, url: url!, stop: () => stop(cli) };
}

export async function stop(cli: CliProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (cli.child.exitCode !== null) return cli.child.exitCode;
  cli.child.kill(signal);
  return cli.exited();
}
