import { userInfo } from 'node:os';

/** Where a command writes and what it reads, so the CLI can run in-process in tests. */
export interface CliIO {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Read by `keys import -`. */
  readonly stdin: NodeJS.ReadableStream;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin };
}

/** Who CLI changes are attributed to in the audit log. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}
