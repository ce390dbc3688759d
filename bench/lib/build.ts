/**
 * The benchmark's servers and in-process measurements run compiled, as an application
 * runs keyward (the package is tsc's output), not through tsx. tsx's loader thread, and
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

/** Compiles src and the bench's child scripts into `outDir` (default bench/.cache/build; a few seconds). */
export function compileBench(outDir: string = BUILD): void {
  rmSync(outDir, { recursive: true, force: true });
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  const args = [tsc, '-p', `${root}bench/tsconfig.build.json`, '--outDir', outDir];
  try {
    execFileSync(process.execPath, args, { stdio: 'pipe' });
  } catch (error) {
    const out = String((error as { stdout?: Buffer }).stdout ?? '').trim();
    throw new Error(`compiling the benchmark failed:\n${out || (error as Error).message}`);
  }
}

/** The compiled form of a `.ts` file of this repository (after `compileBench(outDir)`). */
export function compiled(tsFile: string, outDir: string = BUILD): string {
  return join(outDir, relative(root, tsFile).replace(/\.ts$/, '.js'));
}
