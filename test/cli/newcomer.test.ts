// The CLI as a newcomer meets it (issue 21): no store made by a typo, reads that never
// wait behind a writer, JSON errors, what rotation says, import progress in keys, and the
// commands people expect (verify, list filters, export, delete confirmation, completion,
// init, doctor). Real SQLite files, real processes where the trap is about processes,
// real PostgreSQL and Redis where the command talks to them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { eachKey, type KeyRecord } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../packages/server/src/cli/io.js';
import { runCli } from '../../packages/server/src/cli/program.js';
import { Progress } from '../../packages/server/src/cli/progress.js';
import { PG_URL, REDIS_URL, requireService } from '../helpers/services.js';
import { OTHER_PEPPER, PEPPER, tempDir } from '../keys/temp.js';
import { cli, cliProcess, root } from './run.js';

const dir = tempDir('keyward-cli21-');
let n = 0;
function fresh() {
  const db = join(dir, `s-${++n}.db`);
  const env = { KEYWARD_PEPPER: PEPPER };
  const run = (...args: string[]) => cli([...args, '--db', db], env);
  return { db, env, run };
}
// biome-ignore lint/suspicious/noExplicitAny: parsed CLI output, checked by the assertions
const json = (text: string) => JSON.parse(text) as Record<string, any>;

/** A store with keys made through the CLI; returns their keys and ids. */
async function seeded(...specs: string[][]) {
  const s = fresh();
  const made: { key: string; id: string }[] = [];
  for (const spec of specs) {
    const out = await s.run('keys', 'create', ...spec, '--json');
    expect(out.code).toBe(0);
    const created = json(out.stdout);
    made.push({ key: created.key, id: created.id });
  }
  return { ...s, made };
}

/** Runs the CLI in-process with full control of the terminal flags and stdin. */
async function cliWith(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { stdin?: string[]; stdinTTY?: boolean; stderrTTY?: boolean; stdoutTTY?: boolean } = {},
) {
  let stdout = '';
  let stderr = '';
  const stdin = Object.assign(Readable.from(options.stdin ?? []), { isTTY: options.stdinTTY ?? false });
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s), isTTY: options.stdoutTTY ?? false },
    stderr: { write: (s: string) => (stderr += s), isTTY: options.stderrTTY ?? false },
    env,
    stdin,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe('a read command never creates a store', () => {
  it('answers "no key store at PATH" with exit 8 and leaves no file behind', async () => {
    const typo = join(dir, 'typo.db');
    for (const args of [
      ['keys', 'list'],
      ['keys', 'show', 'key_000000000000000000'],
      ['keys', 'update', 'key_000000000000000000', '--name', 'x'],
      ['keys', 'revoke', 'key_000000000000000000'],
      ['keys', 'export'],
      ['audit'],
    ]) {
      // No KEYWARD_PEPPER: a pepper file would be made too if anything were opened.
      const out = await cli([...args, '--db', typo], {});
      expect({ args, code: out.code, stderr: out.stderr }).toEqual({
        args,
        code: 8,
        stderr: `keyward: no key store at ${typo}\n`,
      });
    }
    const verify = await cliWith(['keys', 'verify', '--db', typo], {}, { stdin: ['kw_x\n'] });
    expect(verify.code).toBe(8);
    expect(readdirSync(dir).filter((f) => f.startsWith('typo'))).toEqual([]);
  });

  it('refuses a file that is not a key store without touching it', async () => {
    const other = join(dir, 'notes.db');
    writeFileSync(other, '', { mode: 0o600 });
    const out = await cli(['keys', 'list', '--db', other], { KEYWARD_PEPPER: PEPPER });
    expect(out).toMatchObject({ code: 8, stderr: `keyward: no key store at ${other}\n` });
    expect(statSync(other).size).toBe(0);
    expect(existsSync(`${other}-wal`)).toBe(false);
  });

  it('lets serve-free creation happen only through keys create, keys import and init', async () => {
    const a = fresh();
    expect((await a.run('keys', 'create', '--name', 'first')).code).toBe(0);
    const b = fresh();
    expect(
      (await cli(['keys', 'import', '-', '--db', b.db], b.env, { stdin: ['legacy-key-0123456789abcdef\n'] }))
        .code,
    ).toBe(0);
    const c = fresh();
    expect((await c.run('init')).code).toBe(0);
    for (const s of [a, b, c]) expect((await s.run('keys', 'list')).code).toBe(0);
  });

  it('does the same in a real process, for a PostgreSQL schema too', async () => {
    const typo = join(dir, 'typo-process.db');
    const out = await cliProcess(['keys', 'list', '--db', typo], {});
    expect(out).toMatchObject({ code: 8, stderr: `keyward: no key store at ${typo}\n` });
    expect(existsSync(typo) || existsSync(`${typo}.pepper`)).toBe(false);
    if (!(await requireService('PostgreSQL', 5432))) return;
    const schema = `kw_cli21_typo_${process.pid}`;
    const url = `${PG_URL}?schema=${schema}`;
    const pgOut = await cli(['audit', '--db', url], { KEYWARD_PEPPER: PEPPER });
    expect(pgOut.code).toBe(8);
    expect(pgOut.stderr).toMatch(
      /^keyward: no key store at postgres:\/\/127\.0\.0\.1:5432\/test \(schema kw_cli21_typo_\d+\)\n$/,
    );
    const client = new pg.Client(PG_URL);
    await client.connect();
    try {
      const { rows } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }
  });
});

describe('read commands and the write lock', () => {
  it('list, show, audit, verify and export answer while another process holds a write transaction', async () => {
    const { db, env, made } = await seeded(['--name', 'a'], ['--name', 'b']);
    // Another process takes the write lock and keeps it until told to stop.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(db)}); db.exec('BEGIN IMMEDIATE'); db.prepare("INSERT INTO keyward_meta (name, value) VALUES ('held', 'x')").run(); console.log('locked'); process.stdin.once('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`,
      ],
      { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
      });
      // A write waits for the lock, then gives up: the lock is really held.
      const write = await cli(['keys', 'create', '--name', 'c', '--db', db], {
        ...env,
        KEYWARD_BUSY_TIMEOUT_MS: '300',
      });
      expect(write.code).toBe(4);
      expect(write.stderr).toMatch(/locked by another process/);
      // Reads do not wait at all, even with a long busy timeout.
      const slow = { ...env, KEYWARD_BUSY_TIMEOUT_MS: '20000' };
      for (const args of [
        ['keys', 'list'],
        ['keys', 'show', made[0]!.id],
        ['audit'],
        ['keys', 'export', '--jsonl'],
      ]) {
        const started = performance.now();
        const out = await cli([...args, '--db', db], slow);
        expect({ args, code: out.code, stderr: out.stderr }).toEqual({ args, code: 0, stderr: '' });
        expect(performance.now() - started).toBeLessThan(3000);
      }
      const started = performance.now();
      const verified = await cliWith(['keys', 'verify', '--db', db], slow, { stdin: [`${made[1]!.key}\n`] });
      expect(verified.code).toBe(0);
      expect(performance.now() - started).toBeLessThan(3000);
      // And in a real process of its own.
      const t0 = performance.now();
      const proc = await cliProcess(['keys', 'list', '--db', db], slow);
      expect(proc.code).toBe(0);
      expect(proc.stdout).toMatch(/\ba\b[\s\S]*\bb\b/);
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      holder.stdin!.write('go\n');
      await new Promise((r) => holder.once('exit', r));
    }
  });
});

describe('--json errors', () => {
  it('are one JSON object on stderr with the same exit code as the text form', async () => {
    const { run, made } = await seeded(['--name', 'a']);
    const cases: [string[], number, string][] = [
      [['keys', 'show', 'key_000000000000000000'], 3, 'not_found'],
      [['keys', 'list', '--limit', '0'], 2, 'usage'],
      [['keys', 'lst'], 2, 'usage'],
      [['keys', 'create', '--name', 'x', '--bogus'], 2, 'usage'],
      [['keys', 'rotate', made[0]!.id, '--grace', 'soon'], 2, 'usage'],
    ];
    for (const [args, code, name] of cases) {
      const text = await run(...args);
      const out = await run(...args, '--json');
      expect({ args, text: text.code, json: out.code }).toEqual({ args, text: code, json: code });
      expect(out.stdout).toBe('');
      const lines = out.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      const body = json(lines[0]!);
      expect(body).toEqual({ error: { code: name, message: expect.any(String) } });
      expect(body.error.message).not.toMatch(/^(keyward|error):/);
    }
    const typo = await cli(['keys', 'list', '--json', '--db', join(dir, 'nope.db')], {});
    expect(typo.code).toBe(8);
    expect(json(typo.stderr)).toEqual({
      error: { code: 'no_store', message: `no key store at ${join(dir, 'nope.db')}` },
    });
  });

  it('never repeat a key pasted as an argument', async () => {
    const { run, made } = await seeded(['--name', 'a']);
    const out = await run('keys', 'show', made[0]!.key, '--json');
    expect(out.code).toBe(3);
    expect(out.stderr).not.toContain(made[0]!.key);
    const argv = await run('keys', 'verify', made[0]!.key, '--json');
    expect(argv.code).toBe(2);
    expect(argv.stderr).not.toContain(made[0]!.key);
    expect(json(argv.stderr).error.code).toBe('usage');
  });

  it('are on with KEYWARD_JSON=1 in a real process', async () => {
    const out = await cliProcess(['keys', 'show', 'key_000000000000000000', '--db', join(dir, 'absent.db')], {
      KEYWARD_JSON: '1',
    });
    expect(out.code).toBe(8);
    expect(json(out.stderr).error.code).toBe('no_store');
  });
});

describe('keys rotate says what is true of the old key', () => {
  it('for a key with limited uses: it has none left', async () => {
    const { run, made } = await seeded(['--name', 'limited', '--uses', '5']);
    const out = await run('keys', 'rotate', made[0]!.id, '--grace', '24h');
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(
      /The old key has no uses left \(its remaining uses moved to the new key\), so it no longer works\./,
    );
    expect(out.stderr).not.toMatch(/works until/);
    const shown = json((await run('keys', 'show', made[0]!.id, '--json')).stdout);
    expect(shown.remainingUses).toBe(0);
  });

  it('for an unlimited key: it works until the grace period ends', async () => {
    const { run, made } = await seeded(['--name', 'plain']);
    const out = await run('keys', 'rotate', made[0]!.id, '--grace', '1h');
    expect(out.stderr).toMatch(/The old key works until \d{4}-\d\d-\d\dT/);
  });
});

describe('keys import progress', () => {
  it('counts keys stored, their rate and the time left', () => {
    let now = 0;
    const lines: string[] = [];
    const progress = new Progress({ write: (s) => lines.push(s), isTTY: false }, () => now);
    now = 2000;
    progress.update(20_000, 100_000);
    now = 4000;
    progress.update(50_000, 100_000);
    expect(lines).toEqual([
      'import: 20,000 of about 100,000 keys stored, 20% (10,000 keys/s, 8s left)\n',
      'import: 50,000 of about 100,000 keys stored, 50% (12,500 keys/s, 4s left)\n',
    ]);
    expect(progress.text(10, undefined)).toBe('10 keys stored (3 keys/s)');
  });

  it('ends on a terminal with every key stored and nothing left', async () => {
    const s = fresh();
    const file = join(dir, 'import.txt');
    writeFileSync(
      file,
      Array.from({ length: 3000 }, (_, i) => `legacy-key-${String(i).padStart(8, '0')}-abcdef\n`).join(''),
    );
    const out = await cliWith(['keys', 'import', file, '--db', s.db], s.env, { stderrTTY: true });
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/3,000 of about 3,000 keys stored, 100% \([\d,]+ keys\/s, 0s left\)/);
    expect(out.stderr).not.toMatch(/bytes/);
  });
});

describe('keys verify', () => {
  it('reads the key from stdin, prints the outcome and the record, exit 0 when valid', async () => {
    const { db, env, made } = await seeded(['--name', 'reader', '--scopes', 'read']);
    const key = made[0]!.key;
    const out = await cliWith(['keys', 'verify', '--db', db], env, { stdin: [`${key}\n`] });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^valid\nid:\s+key_\w+\nname:\s+reader/);
    expect(out.stdout + out.stderr).not.toContain(key);
    const j = await cliWith(['keys', 'verify', '--db', db, '--json', '--scopes', 'read'], env, {
      stdin: [key],
    });
    expect(json(j.stdout)).toMatchObject({
      valid: true,
      outcome: 'valid',
      keyId: made[0]!.id,
      key: { name: 'reader' },
    });
    // Verifying takes no use and records no usage.
    const shown = json((await cli(['keys', 'show', made[0]!.id, '--json', '--db', db], env)).stdout);
    expect(shown).toMatchObject({ useCount: 0, lastUsedAt: null });
  });

  it('exits 1 and names why for a missing scope, a revoked key, a malformed or unknown key', async () => {
    const { db, env, run, made } = await seeded(['--name', 'a', '--scopes', 'read'], ['--name', 'b']);
    expect((await run('keys', 'revoke', made[1]!.id)).code).toBe(0);
    const cases: [string, string[], string, string | null][] = [
      [made[0]!.key, ['--scopes', 'admin'], 'insufficient_scope', made[0]!.id],
      [made[1]!.key, [], 'revoked', made[1]!.id],
      [`kw_${'A'.repeat(38)}`, [], 'malformed', null],
      ['not-a-key', [], 'not_found', null],
    ];
    for (const [key, extra, outcome, keyId] of cases) {
      const out = await cliWith(['keys', 'verify', '--db', db, '--json', ...extra], env, {
        stdin: [`${key}\n`],
      });
      expect({ outcome, code: out.code }).toEqual({ outcome, code: 1 });
      expect(json(out.stdout)).toMatchObject({ valid: false, outcome, keyId });
      expect(out.stdout + out.stderr).not.toContain(key);
    }
    const text = await cliWith(['keys', 'verify', '--db', db], env, { stdin: [`${made[1]!.key}\n`] });
    expect(text.stdout).toMatch(/^invalid: the key is revoked\n/);
    const empty = await cliWith(['keys', 'verify', '--db', db], env, { stdin: ['\n'] });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/no key on stdin/);
  });

  it('on a terminal, reads the key without echoing it (backspace works, Ctrl-C cancels)', async () => {
    const { db, env, made } = await seeded(['--name', 'typed']);
    const key = made[0]!.key;
    const tty = { stdinTTY: true, stderrTTY: true };
    const out = await cliWith(['keys', 'verify', '--db', db], env, { ...tty, stdin: [`${key}x\u007f\r`] });
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/^Paste the key and press Enter \(it is not shown nor stored\): \n$/);
    expect(out.stdout + out.stderr).not.toContain(key);
    const cancelled = await cliWith(['keys', 'verify', '--db', db], env, {
      ...tty,
      stdin: [`${key.slice(0, 5)}\u0003`],
    });
    expect(cancelled.code).toBe(2);
  });

  it('works from a pipe in a real process', async () => {
    const { db, made } = await seeded(['--name', 'piped']);
    const run = spawnSync(
      process.execPath,
      [
        '--conditions=@keyward/source',
        '--import',
        `${root}node_modules/tsx/dist/loader.mjs`,
        `${root}packages/server/src/cli/main.ts`,
        'keys',
        'verify',
        '--db',
        db,
      ],
      {
        input: `${made[0]!.key}\n`,
        env: { PATH: process.env.PATH, KEYWARD_PEPPER: PEPPER, NO_COLOR: '1' },
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^valid\n/);
  });
});

describe('keys list filters', () => {
  it('filters by state, scope, expiry, staleness and name', async () => {
    const { db, env, run, made } = await seeded(
      ['--name', 'Billing EU', '--scopes', 'read,billing', '--expires', '3d'],
      ['--name', 'billing US', '--scopes', 'read', '--expires', '30d'],
      ['--name', 'admin', '--scopes', 'admin'],
      ['--name', 'old', '--scopes', 'read'],
    );
    expect((await run('keys', 'revoke', made[3]!.id)).code).toBe(0);
    expect((await run('keys', 'disable', made[2]!.id)).code).toBe(0);
    const names = async (...args: string[]) =>
      json((await run('keys', 'list', '--json', ...args)).stdout).keys.map((k: { name: string }) => k.name);
    expect(await names('--status', 'revoked')).toEqual(['old']);
    expect(await names('--status', 'disabled')).toEqual(['admin']);
    expect(await names('--status', 'active')).toEqual(['Billing EU', 'billing US']);
    expect(await names('--scope', 'read')).toEqual(['Billing EU', 'billing US', 'old']);
    expect(await names('--scope', 'read', '--status', 'active', '--expiring', '7d')).toEqual(['Billing EU']);
    expect(await names('--name-contains', 'BILLING')).toEqual(['Billing EU', 'billing US']);
    expect(await names('--stale', '90d')).toEqual([]);
    // Margins for a loaded machine: the others are 3 s old, the used key is listed well within 3 s.
    await new Promise((r) => setTimeout(r, 3000));
    // One key used now: not stale.
    const m = await openKeyManager({ database: db, pepper: PEPPER, pollIntervalMs: 0 });
    await m.check(made[1]!.key);
    await m.close();
    expect(await names('--stale', '3s')).toEqual(['Billing EU', 'admin', 'old']);
    const bad = await cli(['keys', 'list', '--status', 'gone', '--db', db], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown state "gone": use one of active, expired, revoked, disabled/);
  });

  it('pages through filtered results with the cursor', async () => {
    const { run } = await seeded(
      ['--name', 'x1', '--scopes', 'x'],
      ['--name', 'y1'],
      ['--name', 'x2', '--scopes', 'x'],
      ['--name', 'y2'],
      ['--name', 'x3', '--scopes', 'x'],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 5; i++) {
      const args = [
        'keys',
        'list',
        '--json',
        '--scope',
        'x',
        '--limit',
        '2',
        ...(cursor ? ['--cursor', cursor] : []),
      ];
      const page = json((await run(...args)).stdout);
      seen.push(...page.keys.map((k: { name: string }) => k.name));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(['x1', 'x2', 'x3']);
  });

  it('takes every filter from its environment variable', async () => {
    const { db, run, made } = await seeded(['--name', 'keep'], ['--name', 'gone']);
    expect((await run('keys', 'revoke', made[1]!.id)).code).toBe(0);
    const out = await cliProcess(['keys', 'list', '--db', db], {
      KEYWARD_PEPPER: PEPPER,
      KEYWARD_STATUS: 'revoked',
      KEYWARD_NAME_CONTAINS: 'go',
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/\bgone\b/);
    expect(out.stdout).not.toMatch(/\bkeep\b/);
  });
});

describe('keys export', () => {
  it('writes every record as one JSON document or as JSON lines, never a key', async () => {
    const { run, made } = await seeded(['--name', 'a']);
    // A key's owner must exist before the key names it.
    expect((await run('owners', 'create', 'acme')).code).toBe(0);
    const owned = await run('keys', 'create', '--name', 'b', '--owner', 'acme', '--json');
    expect(owned.code).toBe(0);
    made.push({ key: json(owned.stdout).key, id: json(owned.stdout).id });
    const all = await run('keys', 'export');
    expect(all.code).toBe(0);
    expect(json(all.stdout).keys.map((k: { name: string }) => k.name)).toEqual(['a', 'b']);
    const lines = (await run('keys', 'export', '--jsonl', '--owner', 'acme')).stdout.trim().split('\n');
    expect(lines.map((l) => json(l).name)).toEqual(['b']);
    for (const m of made) expect(all.stdout).not.toContain(m.key);
    const empty = fresh();
    expect((await empty.run('init')).code).toBe(0);
    expect(json((await empty.run('keys', 'export')).stdout)).toEqual({ keys: [] });
  });

  it('reads a page at a time: a million records pass through with bounded memory', async () => {
    const total = 1_000_000;
    const template = (i: number) =>
      ({
        id: `key_${String(i).padStart(18, '0')}`,
        name: `k${i}`,
        scopes: [],
        createdAt: new Date(0),
        expiresAt: null,
        revokedAt: null,
        enabled: true,
        lastUsedAt: null,
      }) as unknown as KeyRecord;
    let largest = 0;
    const lister = {
      list: async (q: { limit?: number; cursor?: string }) => {
        const start = q.cursor ? Number(q.cursor) : 0;
        const limit = q.limit ?? 100;
        largest = Math.max(largest, limit);
        const items = Array.from({ length: Math.min(limit, total - start) }, (_, k) => template(start + k));
        return { items, nextCursor: start + limit < total ? String(start + limit) : null };
      },
    };
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    let count = 0;
    let peak = 0;
    for await (const _ of eachKey(lister, { pageSize: 1000 })) {
      if (++count % 100_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
    expect(count).toBe(total);
    expect(largest).toBe(1000);
    // A million records held at once would take hundreds of MB.
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  });

  it('streams 20,000 records from a real store in a real process', async () => {
    const s = fresh();
    const file = join(dir, 'export-import.txt');
    writeFileSync(
      file,
      Array.from({ length: 20_000 }, (_, i) => `export-key-${String(i).padStart(8, '0')}-abcdef\n`).join(''),
    );
    expect((await s.run('keys', 'import', file)).code).toBe(0);
    const out = await cliProcess(['keys', 'export', '--jsonl', '--db', s.db], s.env);
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(20_000);
    expect(new Set(lines.map((l) => json(l).id)).size).toBe(20_000);
    // A reader that stops early ends the export quietly, as Unix tools do on SIGPIPE.
    const command = [
      process.execPath,
      '--conditions=@keyward/source',
      '--import',
      `${root}node_modules/tsx/dist/loader.mjs`,
      `${root}packages/server/src/cli/main.ts`,
      'keys',
      'export',
      '--jsonl',
      '--db',
      s.db,
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const early = spawnSync(
      'bash',
      ['-c', `${command} 2>stderr.txt | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"; cat stderr.txt`],
      {
        cwd: dir,
        env: { PATH: process.env.PATH, KEYWARD_PEPPER: PEPPER },
        encoding: 'utf8',
      },
    );
    expect(early.stdout).toBe('141\n');
  });
});

describe('keys delete', () => {
  it('needs --yes when not on a terminal', async () => {
    const { run, made } = await seeded(['--name', 'a']);
    const out = await run('keys', 'delete', made[0]!.id);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/not on a terminal, add --yes/);
    expect((await run('keys', 'show', made[0]!.id)).code).toBe(0);
    expect((await run('keys', 'delete', made[0]!.id, '--yes')).code).toBe(0);
    expect((await run('keys', 'show', made[0]!.id)).code).toBe(3);
  });

  it('asks on a terminal: "y" deletes, anything else keeps the key', async () => {
    const { db, env, run, made } = await seeded(['--name', 'a'], ['--name', 'b']);
    const tty = { stdinTTY: true, stderrTTY: true };
    const no = await cliWith(['keys', 'delete', made[0]!.id, '--db', db], env, { ...tty, stdin: ['n\n'] });
    expect(no.code).toBe(2);
    expect(no.stderr).toMatch(/Delete key key_\w+ \(a\) for good\? .*\[y\/N\]/);
    expect((await run('keys', 'show', made[0]!.id)).code).toBe(0);
    const yes = await cliWith(['keys', 'delete', made[1]!.id, '--db', db], env, { ...tty, stdin: ['y\n'] });
    expect(yes.code).toBe(0);
    expect((await run('keys', 'show', made[1]!.id)).code).toBe(3);
  });

  it('takes KEYWARD_YES=1, and never KEYWARD_YES=0 for a yes', async () => {
    const { db, run, made } = await seeded(['--name', 'a']);
    for (const no of ['0', 'false', '']) {
      const out = await cli(['keys', 'delete', made[0]!.id, '--db', db], {
        KEYWARD_PEPPER: PEPPER,
        KEYWARD_YES: no,
      });
      expect({ no, code: out.code }).toEqual({ no, code: 2 });
    }
    expect((await run('keys', 'show', made[0]!.id)).code).toBe(0);
    const yes = await cli(['keys', 'delete', made[0]!.id, '--db', db, '--json'], {
      KEYWARD_PEPPER: PEPPER,
      KEYWARD_YES: '1',
    });
    expect(yes.code).toBe(0);
    expect(json(yes.stdout).id).toBe(made[0]!.id);
  });

  it('takes KEYWARD_YES in a real process', async () => {
    const { db, made } = await seeded(['--name', 'a']);
    const out = await cliProcess(['keys', 'delete', made[0]!.id, '--db', db], {
      KEYWARD_PEPPER: PEPPER,
      KEYWARD_YES: '1',
    });
    expect(out.code).toBe(0);
  });
});

describe('keyward completion', () => {
  async function script(shell: string) {
    const out = await cli(['completion', shell], {});
    expect(out.code).toBe(0);
    return out.stdout;
  }

  it('completes commands, subcommands and options in bash', async () => {
    const bash = await script('bash');
    const complete = (line: string) => {
      const words = line.split(' ');
      const run = spawnSync(
        'bash',
        [
          '-c',
          `${bash}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _keyward; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(run.stderr).toBe('');
      return run.stdout.trim().split('\n').filter(Boolean);
    };
    expect(complete('keyward k')).toEqual(['keys']);
    expect(complete('keyward keys ex')).toEqual(['export']);
    expect(complete('keyward keys list --stat')).toEqual(['--status']);
    expect(complete('keyward keys list --st')).toEqual(['--status', '--stale']);
    expect(complete('keyward keys create --name x --sc')).toEqual(['--scopes']);
    expect(complete('keyward do')).toEqual(['doctor']);
  });

  it('prints zsh and fish scripts that their shells accept', async () => {
    const zsh = await script('zsh');
    expect(zsh).toMatch(/^#compdef keyward/);
    expect(zsh).toContain('bashcompinit');
    const fish = await script('fish');
    expect(fish).toMatch(/complete -c keyward -f -n '__fish_use_subcommand' -a 'keys'/);
    expect(fish).toMatch(/complete -c keyward -n '__keyward_path '\\''keys'\\'' '\\''list'\\''' -l status/);
    for (const [shell, text] of [
      ['zsh', zsh],
      ['fish', fish],
    ] as const) {
      const found = spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
      if (!found) continue;
      const check = spawnSync(shell, ['-n'], { input: text, encoding: 'utf8' });
      expect(check.status).toBe(0);
    }
    const bad = await cli(['completion', 'tcsh'], {});
    expect(bad.code).toBe(2);
  });
});

describe('keyward init', () => {
  it('creates a private store and pepper, prints the next steps, and refuses to run twice', async () => {
    const db = join(dir, 'init.db');
    const out = await cli(['init', '--db', db], {});
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`Created the key store ${db}.`);
    expect(out.stdout).toContain(`npx keyward keys create --name my-client --scopes read --db ${db}`);
    expect(statSync(db).mode & 0o777).toBe(0o600);
    expect(statSync(`${db}.pepper`).mode & 0o777).toBe(0o600);
    const again = await cli(['init', '--db', db, '--json'], {});
    expect(again.code).toBe(6);
    expect(json(again.stderr).error).toEqual({
      code: 'conflict',
      message: `a key store already exists at ${db}; nothing was changed`,
    });
    expect((await cli(['keys', 'list', '--db', db], {})).stdout).toBe('no keys\n');
  });

  it('creates keyward tables in a PostgreSQL schema and never prints the URL', async () => {
    if (!(await requireService('PostgreSQL', 5432))) return;
    const schema = `kw_cli21_init_${process.pid}`;
    const url = `${PG_URL.replace('postgres@', 'postgres:secret-word@')}?schema=${schema}`;
    const client = new pg.Client(PG_URL);
    await client.connect();
    try {
      const out = await cli(['init', '--db', url, '--json'], { KEYWARD_PEPPER: PEPPER });
      expect(out.code).toBe(0);
      expect(out.stdout).not.toContain('secret-word');
      expect(json(out.stdout)).toMatchObject({ created: true, pepper: 'KEYWARD_PEPPER' });
      const { rows } = await client.query('SELECT to_regclass($1) AS t', [`${schema}.keyward_keys`]);
      expect(rows[0].t).not.toBeNull();
      expect((await cli(['keys', 'list', '--db', url], { KEYWARD_PEPPER: PEPPER })).code).toBe(0);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});

describe('keyward doctor', () => {
  it('is healthy on a good SQLite store, and names each problem with its fix otherwise', async () => {
    const db = join(dir, 'doctor.db');
    expect((await cli(['init', '--db', db], {})).code).toBe(0);
    const good = await cli(['doctor', '--db', db, '--json'], {});
    expect(good.code).toBe(0);
    const report = json(good.stdout);
    expect(report.healthy).toBe(true);
    expect(report.checks.map((c: { name: string; status: string }) => `${c.name}:${c.status}`)).toEqual([
      'database:ok',
      'store files:ok',
      'migrations:ok',
      'postgres:skip',
      'pepper:ok',
      'pepper matches:ok',
      'redis:skip',
    ]);
    const { chmodSync } = await import('node:fs');
    chmodSync(`${db}.pepper`, 0o644);
    const open = await cli(['doctor', '--db', db], {});
    chmodSync(`${db}.pepper`, 0o600);
    expect(open.code).toBe(1);
    expect(open.stdout).toMatch(/FAIL {2}pepper: refusing pepper file .*mode 0644/);
    expect(open.stdout).toMatch(/ {6}fix: chmod 600 .*doctor\.db\.pepper/);
    const wrong = await cli(['doctor', '--db', db], { KEYWARD_PEPPER: OTHER_PEPPER });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/FAIL {2}pepper matches: /);
    const missing = await cli(['doctor', '--db', join(dir, 'doctor-typo.db')], {});
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/fix: create it: npx keyward init --db/);
    expect(existsSync(join(dir, 'doctor-typo.db'))).toBe(false);
  });

  it('measures PostgreSQL, the clock skew against it, and Redis; an unreachable Redis fails', async () => {
    if (!(await requireService('PostgreSQL', 5432)) || !(await requireService('Redis', 6379))) return;
    const schema = `kw_cli21_doctor_${process.pid}`;
    const url = `${PG_URL}?schema=${schema}`;
    const env = { KEYWARD_PEPPER: PEPPER, KEYWARD_DATABASE_URL: url };
    const client = new pg.Client(PG_URL);
    await client.connect();
    try {
      expect((await cli(['init'], env)).code).toBe(0);
      const out = await cli(['doctor', '--json'], { ...env, KEYWARD_REDIS_URL: REDIS_URL });
      const report = json(out.stdout);
      expect(out.code).toBe(0);
      const byName = Object.fromEntries(report.checks.map((c: { name: string }) => [c.name, c]));
      expect(byName.postgres).toMatchObject({ status: 'ok', latencyMs: expect.any(Number) });
      expect(byName['clock skew'].status).toBe('ok');
      expect(byName['clock skew'].detail).toMatch(/^[+-]\d+ ms/);
      expect(byName.redis).toMatchObject({ status: 'ok', latencyMs: expect.any(Number) });
      const down = await cli(['doctor'], { ...env, KEYWARD_REDIS_URL: 'redis://127.0.0.1:1' });
      expect(down.code).toBe(1);
      expect(down.stdout).toMatch(/FAIL {2}redis: redis:\/\/127\.0\.0\.1:1 is unreachable/);
      const noPg = await cli(['doctor', '--db', 'postgres://postgres@127.0.0.1:1/x'], {
        KEYWARD_PEPPER: PEPPER,
      });
      expect(noPg.code).toBe(1);
      expect(noPg.stdout).toMatch(/FAIL {2}postgres: .* is unreachable/);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});

describe('colour and tables', () => {
  it('colours states and bolds the header on a terminal, and never in pipes or with NO_COLOR', async () => {
    const { db, env, run, made } = await seeded(['--name', 'a'], ['--name', 'b']);
    expect((await run('keys', 'revoke', made[1]!.id)).code).toBe(0);
    const args = ['keys', 'list', '--db', db];
    const tty = await cliWith(args, env, { stdoutTTY: true });
    expect(tty.stdout).toContain('\u001b[1mID');
    expect(tty.stdout).toContain('\u001b[32mactive\u001b[39m');
    expect(tty.stdout).toContain('\u001b[31mrevoked\u001b[39m');
    const pipe = await cliWith(args, env, { stdoutTTY: false });
    const noColor = await cliWith(args, { ...env, NO_COLOR: '1' }, { stdoutTTY: true });
    for (const plain of [pipe.stdout, noColor.stdout]) {
      expect(plain).not.toContain('\u001b[');
      expect(plain).toMatch(/^ID {2,}NAME/);
    }
    // The columns line up the same with and without colour.
    const strip = (s: string) => s.replace(/\u001b\[\d+m/g, '');
    expect(strip(tty.stdout)).toBe(pipe.stdout);
  });
});

afterAll(() => {
  // Nothing may be left in the repository root by these tests.
  expect(existsSync(join(root, 'keyward.db'))).toBe(false);
});
