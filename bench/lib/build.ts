/**
 * The benchmark's servers and in-process measurements run compiled, against the packages'
 * dist/, as an application runs keyward, not through tsx. tsx's loader thread, and
 * the TypeScript writer worker it makes the SQLite store load, cost about 50 MiB of RSS
 * under load that production does not have (143 MiB against 90 MiB for one store
 * server), and target 6 is about a server's RSS.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = `${root}bench/.cache/build/`;

function run(what: string, file: string, args: readonly string[]): void {
  try {
    execFileSync(file, args, { cwd: root, stdio: 'pipe' });
  } catch (error) {
    const out = String((error as { stdout?: Buffer }).stdout ?? '').trim();
    throw new Error(`${what} failed:\n${out || (error as Error).message}`);
  }
}

/**
 * Builds the packages (their dist/ is what the benchmark measures) and compiles the bench's
 * own servers and scripts into `outDir` (default bench/.cache/build; some seconds).
 */
export function compileBench(outDir: string = BUILD): void {
  run('building the packages', 'npm', ['run', 'build', '--silent']);
  rmSync(outDir, { recursive: true, force: true });
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  run('compiling the benchmark', process.execPath, [
    tsc,
    '-p',
    `${root}bench/tsconfig.build.json`,
    '--outDir',
    outDir,
  ]);
}

/** The compiled form of a `.ts` file of the bench (after `compileBench(outDir)`). */
export function compiled(tsFile: string, outDir: string = BUILD): string {
  return join(outDir, relative(`${root}bench`, tsFile).replace(/\.ts$/, '.js'));
}
