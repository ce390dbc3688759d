/**
 * The benchmark's servers and in-process measurements run compiled, as an application
 * runs keyward (the package is tsc's output), not through tsx. tsx's loader thread, and
 * the TypeScript writer worker it makes the SQLite store load, cost about 65 MiB of RSS
 * and a thread that production does not have, and target 6 is about a server's RSS.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const outDir = `${root}bench/.cache/build/`;

/** Compiles src and the bench's child scripts into bench/.cache/build (a few seconds). */
export function compileBench(): void {
  rmSync(outDir, { recursive: true, force: true });
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  try {
    execFileSync(process.execPath, [tsc, '-p', `${root}bench/tsconfig.build.json`], { stdio: 'pipe' });
  } catch (error) {
    const out = String((error as { stdout?: Buffer }).stdout ?? '').trim();
    throw new Error(`compiling the benchmark failed:\n${out || (error as Error).message}`);
  }
}

/** The compiled form of a `.ts` file of this repository (after `compileBench`). */
export function compiled(tsFile: string): string {
  return outDir + relative(root, tsFile).replace(/\.ts$/, '.js');
}
