import type { Stats } from 'node:fs';

/**
 * Why a file keyward trusts must not be used, or `undefined` when it may be: it must be a
 * regular file, owned by the user keyward runs as, with none of the `forbidden` mode bits
 * (group and others). Not checked on Windows, which has no such modes.
 */
export function filePermissionProblem(stat: Stats, forbidden: number): string | undefined {
  if (process.platform === 'win32') return undefined;
  if (!stat.isFile()) return 'is not a regular file';
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `is owned by another user (uid ${stat.uid}, not ${uid})`;
  if ((stat.mode & forbidden) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    const what = (forbidden & 0o044) === 0 ? 'writable by group or others' : 'open to other users';
    return `is ${what} (mode ${mode})`;
  }
  return undefined;
}
