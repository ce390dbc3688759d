import { spawn } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { findKeys, gitleaksRule, type KeyFormat, type KeyManager, keyFormat } from '@keyward/keys';
import type { Command } from 'commander';
import type { CliIO } from './io.js';
import { dbOption, jsonOption, keyPrefixOf, keyPrefixOption, withManager } from './options.js';
import { jsonLine, printable, table } from './render.js';

/** Folders never walked into: git's own store (see `--git`) and installed dependencies. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
/** Files larger than this are skipped (reported): generated bundles, databases, media. */
const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** A NUL in the first bytes marks a binary file, skipped. */
const SNIFF_BYTES = 8192;

/** Where a key of this deployment's format was found. Never the key itself. */
export interface Finding {
  /** The file as reached from the path given (with `--git`: relative to the repository). */
  readonly file: string;
  readonly line: number;
  /** With `--git`: the commit that added the line. */
  readonly commit?: string;
  /** The key's display fragment, e.g. `acme_AbCd…`. */
  readonly display: string;
  /** With `--check`: what the key store says of it. */
  state?: 'active' | 'revoked' | 'expired' | 'disabled' | 'exhausted' | 'unknown';
}

interface Tally {
  files: number;
  lookAlikes: number;
  skipped: string[];
}

/** Findings in one text, with their full keys kept apart for `--check`. */
function scanText(
  text: string,
  format: KeyFormat,
  where: { file: string; commit?: string; line?: number },
  tally: Tally,
  out: { finding: Finding; key: string }[],
): void {
  const matches = findKeys(text, format);
  if (matches.length === 0) return;
  let line = 1;
  let at = 0;
  for (const m of matches) {
    if (!m.valid) {
      tally.lookAlikes++;
      continue;
    }
    for (; at < m.index; at++) if (text.charCodeAt(at) === 10) line++;
    out.push({
      key: m.key,
      finding: {
        file: where.file,
        line: where.line ?? line,
        ...(where.commit ? { commit: where.commit } : {}),
        display: format.display(m.key),
      },
    });
  }
}

/** Walks files under `path` (not following links), scanning each text file. */
function scanTree(
  path: string,
  format: KeyFormat,
  tally: Tally,
  out: { finding: Finding; key: string }[],
): void {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (stat === undefined) throw new Error(`no such file or folder: ${path}`);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (SKIPPED_DIRS.has(name)) continue;
      scanTree(join(path, name), format, tally, out);
    }
    return;
  }
  if (!stat.isFile()) return;
  const file = path;
  if (stat.size > MAX_FILE_BYTES) {
    tally.skipped.push(`${file} (over ${MAX_FILE_BYTES / 1024 / 1024} MiB)`);
    return;
  }
  const bytes = readFileSync(path);
  if (bytes.subarray(0, SNIFF_BYTES).includes(0)) return;
  tally.files++;
  // Keys are ASCII: latin1 reads any byte without a decoding error, at the same offsets.
  scanText(bytes.toString('latin1'), format, { file }, tally, out);
}

/**
 * Scans every line any commit of the repository at `path` added (`git log --all -p`):
 * a key removed later is still in the history, and still works until revoked.
 */
async function scanHistory(
  path: string,
  format: KeyFormat,
  tally: Tally,
  out: { finding: Finding; key: string }[],
): Promise<void> {
  const git = spawn(
    'git',
    ['log', '--all', '-p', '-U0', '--no-color', '--no-ext-diff', '--no-renames', '--format=commit %H'],
    { cwd: path, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  git.stderr.on('data', (d) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    git.on('error', reject);
    git.on('close', resolve);
  });
  let commit = '';
  let file = '';
  let line = 0;
  const files = new Set<string>();
  for await (const text of createInterface({ input: git.stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (text.startsWith('commit ')) commit = text.slice(7, 19);
    else if (text.startsWith('+++ ')) {
      file = text.startsWith('+++ b/') ? text.slice(6) : '';
      if (file) files.add(file);
    } else if (text.startsWith('@@ ')) {
      line = Number(/\+(\d+)/.exec(text)?.[1] ?? 0);
    } else if (text.startsWith('+') && file) {
      scanText(text.slice(1), format, { file, commit, line }, tally, out);
      line++;
    }
  }
  const code = await exited.catch((error: unknown) => {
    throw new Error(`cannot run git: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  });
  if (code !== 0)
    throw new Error(`git log failed in ${path}: ${printable(stderr.trim().split('\n')[0] ?? '')}`);
  tally.files += files.size;
}

/** The store's word on a key, as scan reports it. */
async function stateOf(manager: KeyManager, key: string): Promise<NonNullable<Finding['state']>> {
  const { outcome } = await manager.check(key, { dryRun: true });
  switch (outcome) {
    case 'valid':
      return 'active';
    case 'revoked':
    case 'expired':
    case 'disabled':
      return outcome;
    case 'usage_exceeded':
      return 'exhausted';
    default:
      return 'unknown';
  }
}

interface ScanFlags {
  git?: boolean;
  check?: boolean;
  json?: boolean;
  gitleaks?: boolean;
  keyPrefix?: string;
  db?: string;
}

/** `keyward scan`: keys of this deployment's format in files or git history. */
export function registerScan(program: Command, io: CliIO): void {
  program
    .command('scan')
    .description(
      "find this deployment's keys in files (or, with --git, in every commit): prints file:line and the key's display fragment, never the key; look-alikes whose checksum fails are counted, not listed. Skips .git, node_modules, binary files and files over 10 MiB",
    )
    .argument('[paths...]', 'files or folders (with --git: repositories)', ['.'])
    .option('--git', 'scan every line any commit added (git log --all -p) instead of the files')
    .option(
      '--check',
      'look each key up in the key store; exit 1 when one is still active (pre-commit hooks, CI)',
    )
    .option('--gitleaks', 'print a gitleaks rule for the format instead, and scan nothing')
    .addOption(keyPrefixOption())
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(async (paths: string[], flags: ScanFlags) => {
      const format = keyFormat(keyPrefixOf(io, flags.keyPrefix));
      if (flags.gitleaks) {
        io.stdout.write(gitleaksRule(format));
        return;
      }
      const tally: Tally = { files: 0, lookAlikes: 0, skipped: [] };
      const found: { finding: Finding; key: string }[] = [];
      for (const path of paths) {
        if (flags.git) await scanHistory(path, format, tally, found);
        else scanTree(path, format, tally, found);
      }
      if (flags.check && found.length > 0) {
        await withManager(io, flags.db, async (m) => {
          const states = new Map<string, Promise<NonNullable<Finding['state']>>>();
          for (const f of found) {
            if (!states.has(f.key)) states.set(f.key, stateOf(m, f.key));
            f.finding.state = await states.get(f.key)!;
          }
        });
      }
      const findings = found.map((f) => f.finding);
      const active = findings.filter((f) => f.state === 'active').length;
      if (flags.json) {
        io.stdout.write(
          jsonLine({ findings, files: tally.files, lookAlikes: tally.lookAlikes, skipped: tally.skipped }),
        );
      } else {
        if (findings.length > 0) {
          const rows = findings.map((f) => [
            `${f.commit ? `${f.commit}:` : ''}${f.file}:${f.line}`,
            f.display,
            ...(flags.check ? [f.state ?? ''] : []),
          ]);
          io.stdout.write(`${table(rows)}\n`);
        }
        for (const s of tally.skipped) io.stderr.write(`keyward: skipped ${printable(s)}\n`);
        io.stderr.write(
          `${findings.length} keys found in ${tally.files} ${flags.git ? 'files of the history' : 'files'}${flags.check ? `, ${active} still active` : ''}; ${tally.lookAlikes} look-alikes with a bad checksum ignored\n`,
        );
      }
      if (active > 0) {
        throw new Error(
          `${active} active keys found: revoke them (keyward keys revoke ID) and remove them from the code`,
        );
      }
    });
}
