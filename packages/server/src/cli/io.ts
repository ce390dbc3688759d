import { userInfo } from 'node:os';

/** Where a command writes and what it reads, so the CLI can run in-process in tests. */
export interface CliIO {
  /** `once('drain')` lets long outputs (`keys export`) wait instead of buffering. */
  readonly stdout: {
    write(text: string): unknown;
    isTTY?: boolean;
    once?(event: 'drain', listener: () => void): unknown;
  };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Read by `keys import -` and `keys verify`; a terminal (`isTTY`) lets `keys delete` ask. */
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** An environment flag that is set: anything but empty, `0`, `false` or `no`. */
export function truthy(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false', 'no'].includes(value.trim().toLowerCase());
}

/** Writes to stdout, waiting for it to drain when its buffer is full (bounded memory for long outputs). */
export async function writeOut(io: CliIO, text: string): Promise<void> {
  const out = io.stdout;
  if (out.write(text) === false && out.once)
    await new Promise<void>((resolve) => out.once!('drain', resolve));
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
