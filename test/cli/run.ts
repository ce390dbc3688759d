import { type ChildProcess, spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { CliIO } from '../../packages/server/src/cli/io.js';
import { runCli } from '../../packages/server/src/cli/program.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = `${root}node_modules/tsx/dist/loader.mjs`;

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured output (fast; most CLI tests use this). */
export async function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { stdin?: string[]; tty?: boolean } = {},
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: options.tty ?? false },
    env,
    stdin: Readable.from(options.stdin ?? []),
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/** A real `keyward` process (node + tsx on the sources). */
export interface Child {
  readonly child: ChildProcess;
  output(): { stdout: string; stderr: string };
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { cwd?: string; script?: string } = {},
): Child {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@keyward/source',
      '--import',
      tsx,
      options.script ?? `${root}packages/server/src/cli/main.ts`,
      ...args,
    ],
    {
      cwd: options.cwd ?? root,
      env: { PATH: process.env.PATH, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d) => {
    stdout += d;
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
    for (const w of waiters) w();
  });
  // 'close', not 'exit': it comes once the output pipes are drained, so no last line is missed.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = (stdout + stderr).match(pattern);
          if (!m) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}:\n${stdout}\n${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        void exited.then(check);
        check();
      });
    },
  };
}

/** Runs a real CLI process to completion. */
export async function cliProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Captured> {
  const c = spawnCli(args, env);
  const code = await c.exited;
  return { code: code ?? -1, ...c.output() };
}
