import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { KeywardConfigError } from 'keyward';
import { InsecurePepperFileError } from './errors.js';
import { filePermissionProblem } from './private-file.js';

/** How long a reader waits for a pepper file another process created but has not written yet. */
const EMPTY_WAIT_MS = 2000;
const EMPTY_POLL_MS = 20;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Best effort: makes the new directory entry survive a power loss. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can open or sync a directory.
  }
}

/**
 * Creates `file` holding `content` with mode 0600, atomically: the content is written and
 * synced to a private temporary file first, then hard-linked into place, which fails if
 * `file` exists (no replacing). Another process never sees the file empty or half
 * written. Returns false when `file` already existed (another process won the race).
 */
export function createPepperFile(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
    syncDirectory(dirname(file));
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A file system without hard links: an exclusive create still picks one winner, and
    // readers wait while the file is empty.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV' || code === 'ENOSYS') {
      try {
        writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
        return true;
      } catch (inner) {
        if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw inner;
      }
    }
    throw error;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone: nothing to clean.
    }
  }
}

/** Refuses a pepper file another user owns, or that group or others may read or write. */
function checkOwnership(file: string, fd: number): void {
  const stat = fstatSync(fd);
  const problem = filePermissionProblem(stat, 0o077);
  if (problem === undefined) return;
  const fix = stat.isFile() && problem.startsWith('is open') ? `; run: chmod 600 ${file}` : '';
  throw new InsecurePepperFileError(file, `${problem}${fix}`);
}

/**
 * Reads a pepper file after checking who owns it and who may read it. An empty file is
 * waited for (briefly): another process may have just created it without a hard link.
 */
export function readPepperFile(file: string): string {
  const deadline = Date.now() + EMPTY_WAIT_MS;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new KeywardConfigError(`cannot read pepper file ${file} (${code})`);
    }
    let text: string;
    try {
      checkOwnership(file, fd);
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    if (text !== '' || Date.now() >= deadline) return text;
    sleepSync(EMPTY_POLL_MS);
  }
}
