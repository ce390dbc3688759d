import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A fresh temporary directory, removed after the file's tests. Never ./keyward.db. */
export function tempDir(label = 'keyward-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), label));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A peppers long enough for the minimum length. */
export const PEPPER = 'test-pepper-0123456789abcdefghijklmnopqrstuvwxyz';
export const OTHER_PEPPER = 'other-pepper-0123456789abcdefghijklmnopqrstuvwxyz';
