// The `keyward keys` / `keyward audit` commands, run in-process against temporary databases.
import { chmodSync, chownSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openKeyManager } from '@keyward/server';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { OTHER_PEPPER, PEPPER, tempDir } from '../keys/temp.js';
import { cli } from './run.js';

const dir = tempDir('keyward-cli-');
let n = 0;
function fresh() {
  const db = join(dir, `cli-${++n}.db`);
  const env = { KEYWARD_PEPPER: PEPPER };
  const run = (...args: string[]) => cli([...args, '--db', db], env);
  return { db, env, run };
}
// biome-ignore lint/suspicious/noExplicitAny: parsed CLI output, checked by the assertions
const json = (text: string) => JSON.parse(text) as Record<string, any>;

async function verify(db: string, key: string) {
  const m = await openKeyManager({ database: db, pepper: PEPPER, pollIntervalMs: 0 });
  try {
    return await m.check(key, { dryRun: true });
  } finally {
    await m.close();
  }
}

describe('keyward keys create/list/show', () => {
  it('prints the new key alone on stdout, once, and stores only its hash', async () => {
    const { db, run } = fresh();
    // Only init, keys create, keys import and serve create a store; owners create needs one.
    expect((await run('init')).code).toBe(0);
    expect((await run('owners', 'create', 'acme')).code).toBe(0);
    const created = await run(
      'keys',
      'create',
      '--name',
      'billing',
      '--owner',
      'acme',
      '--scopes',
      'read,admin',
    );
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^kw_[0-9A-Za-z]{38}$/);
    expect(created.stderr).toMatch(/Created key key_\w+ \(billing\)/);
    expect(created.stderr).toMatch(/only time the key is shown/);
    expect((await verify(db, key)).principal).toMatchObject({ name: 'billing', scopes: ['read', 'admin'] });
    const list = await run('keys', 'list');
    expect(list.stdout).toMatch(/billing\s+acme\s+kw_\w{4}…\s+read,admin\s+active/);
    expect(list.stdout + list.stderr).not.toContain(key.slice(7));
  });

  it('prints one JSON object with --json', async () => {
    const { db, run } = fresh();
    const out = await run(
      'keys',
      'create',
      '--name',
      'n',
      '--expires',
      '30d',
      '--uses',
      '3',
      '--rate-limit',
      '100/1m',
      '--metadata',
      '{"plan":"pro"}',
      '--json',
    );
    expect(out.code).toBe(0);
    const created = json(out.stdout);
    expect(created).toMatchObject({
      name: 'n',
      state: 'active',
      remainingUses: 3,
      rateLimit: { limit: 100, windowSeconds: 60 },
      metadata: { plan: 'pro' },
    });
    expect(Date.parse(created.expiresAt) - Date.parse(created.createdAt)).toBe(30 * 86_400_000);
    expect((await verify(db, created.key)).outcome).toBe('valid');
    const shown = json((await run('keys', 'show', created.id, '--json')).stdout);
    expect(shown).toEqual(Object.fromEntries(Object.entries(created).filter(([k]) => k !== 'key')));
    const text = (await run('keys', 'show', created.id)).stdout;
    expect(text).toMatch(/uses left:\s+3/);
    expect(text).toMatch(/rate limit:\s+100 per 60s/);
  });

  it('pages with --limit/--cursor and filters with --owner', async () => {
    const { run } = fresh();
    expect((await run('init')).code).toBe(0);
    for (const owner of ['a', 'b']) expect((await run('owners', 'create', owner)).code).toBe(0);
    for (const owner of ['a', 'b', 'a', 'a'])
      await run('keys', 'create', '--name', `k-${owner}`, '--owner', owner);
    const first = json((await run('keys', 'list', '--owner', 'a', '--limit', '2', '--json')).stdout);
    expect(first.keys).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = json(
      (await run('keys', 'list', '--owner', 'a', '--cursor', first.nextCursor, '--json')).stdout,
    );
    expect(second).toMatchObject({ nextCursor: null });
    expect(second.keys).toHaveLength(1);
    const human = await run('keys', 'list', '--limit', '1');
    expect(human.stderr).toMatch(/more: --cursor \S+/);
  });
});

describe('keyward keys update/disable/enable/revoke/delete/rotate', () => {
  it('changes keys and reports each change in the audit log', async () => {
    const { db, run } = fresh();
    const created = json(
      (await run('keys', 'create', '--name', 'svc', '--expires', '1d', '--uses', '5', '--json')).stdout,
    );
    const id = created.id as string;
    const updated = await run(
      'keys',
      'update',
      id,
      '--name',
      'svc2',
      '--scopes',
      'read',
      '--no-expires',
      '--no-uses',
      '--rate-limit',
      '10/1s',
      '--json',
    );
    expect(updated.code).toBe(0);
    expect(json(updated.stdout)).toMatchObject({
      name: 'svc2',
      scopes: ['read'],
      expiresAt: null,
      remainingUses: null,
      rateLimit: { limit: 10, windowSeconds: 1 },
    });
    expect((await run('keys', 'update', id, '--scopes', '')).code).toBe(0);
    expect((await run('keys', 'disable', id)).stdout).toBe(`disabled ${id} (svc2)\n`);
    expect((await verify(db, created.key)).outcome).toBe('disabled');
    expect((await run('keys', 'enable', id)).code).toBe(0);
    expect((await verify(db, created.key)).outcome).toBe('valid');
    expect((await run('keys', 'revoke', id)).code).toBe(0);
    expect((await verify(db, created.key)).outcome).toBe('revoked');
    const audit = json((await run('audit', '--key', id, '--json')).stdout);
    expect(audit.entries.map((e: { action: string }) => e.action)).toEqual([
      'revoke',
      'enable',
      'disable',
      'update',
      'update',
      'create',
    ]);
    expect(audit.entries[0].actor).toMatch(/^cli/);
    expect(JSON.stringify(audit)).not.toContain(created.key);
    expect((await run('keys', 'delete', id, '--yes')).code).toBe(0);
    expect((await run('keys', 'show', id)).code).toBe(3);
    expect((await run('audit', '--limit', '1')).stdout).toMatch(/delete\s+key_/);
  });

  it('rotates with a grace period and prints the successor once', async () => {
    const { db, run } = fresh();
    const old = json((await run('keys', 'create', '--name', 'svc', '--scopes', 'read', '--json')).stdout);
    const out = await run('keys', 'rotate', old.id, '--grace', '1h');
    expect(out.code).toBe(0);
    const successor = out.stdout.trim();
    expect(out.stderr).toMatch(new RegExp(`Rotated ${old.id} to key_\\w+\\. The old key works until `));
    expect((await verify(db, successor)).principal).toMatchObject({ name: 'svc', scopes: ['read'] });
    expect((await verify(db, old.key)).outcome).toBe('valid');
    const again = await run('keys', 'rotate', old.id);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/already rotated/);
    // The old key cannot be brought back past its grace period, nor given uses again.
    const limited = json((await run('keys', 'create', '--name', 'ltd', '--uses', '5', '--json')).stdout);
    expect((await run('keys', 'rotate', limited.id)).code).toBe(0);
    for (const [id, flag] of [
      [old.id, ['--no-expires']],
      [old.id, ['--expires', '30d']],
      [limited.id, ['--uses', '100']],
      [limited.id, ['--no-uses']],
    ] as const) {
      const revived = await run('keys', 'update', id, ...flag);
      expect({ flag, code: revived.code }).toEqual({ flag, code: 6 });
      expect(revived.stderr).toMatch(
        /was rotated to key_\w+: its expiry and uses can be shortened, not extended/,
      );
    }
    expect((await run('keys', 'update', old.id, '--expires', '1m')).code).toBe(0);
    const created = json((await run('keys', 'create', '--name', 'now', '--json')).stdout);
    const now = json((await run('keys', 'rotate', created.id, '--grace', '0', '--json')).stdout);
    expect(now.previous.state).toBe('revoked');
    expect((await verify(db, created.key)).outcome).toBe('revoked');
  });
});

describe('terminal control characters', () => {
  const C1_CSI = '\u009b';
  const C1_OSC = '\u009d';
  const RLO = '\u202e';

  it('refuses C1 controls and bidi overrides in names, owners and metadata (exit 2)', async () => {
    const { run } = fresh();
    for (const args of [
      ['--name', `${C1_CSI}31mRED`],
      ['--name', 'x', '--owner', `${C1_OSC}0;TITLE\u009c`],
      ['--name', `admin${RLO}atad-ylno`],
      ['--name', 'x', '--metadata', '{"c1":"\\u009b31m"}'],
      ['--name', 'x', '--metadata', '{"iso":"\\u2066x\\u2069"}'],
    ]) {
      const out = await run('keys', 'create', ...args);
      expect({ args, code: out.code }).toEqual({ args, code: 2 });
    }
    expect((await run('keys', 'list')).stdout).toBe('no keys\n');
  });

  it('prints control characters a store already holds as escapes, in tables and JSON', async () => {
    const { db, run } = fresh();
    const id = json((await run('keys', 'create', '--name', 'plain', '--json')).stdout).id as string;
    // As an older keyward, or a direct write, could have left them.
    const raw = new Database(db);
    raw
      .prepare('UPDATE keyward_keys SET name = ?, owner = ?, metadata = ? WHERE id = ?')
      .run(`${C1_CSI}31mRED\u001b[0m`, `${C1_OSC}0;T\u0007`, JSON.stringify({ n: `a${RLO}b\u007f` }), id);
    raw
      .prepare('UPDATE keyward_audit SET actor = ?, changes = ?')
      .run(`cli${RLO}x`, JSON.stringify({ name: `${C1_CSI}2J` }));
    raw.close();
    const unprintable = /[\p{Cc}\u202e]/u;
    const outputs = [
      await run('keys', 'list'),
      await run('keys', 'show', id),
      await run('audit'),
      await run('keys', 'disable', id),
    ];
    for (const out of outputs) {
      expect(out.code).toBe(0);
      expect(out.stdout.replace(/\n/g, '')).not.toMatch(unprintable);
    }
    expect(outputs[0]!.stdout).toContain('\\u009b31mRED\\u001b[0m');
    expect(outputs[1]!.stdout).toContain('\\u009d0;T\\u0007');
    expect(outputs[2]!.stdout).toContain('cli\\u202ex');
    for (const args of [
      ['keys', 'show', id, '--json'],
      ['keys', 'list', '--json'],
      ['audit', '--json'],
    ]) {
      const out = await run(...args);
      expect(out.stdout.trimEnd()).not.toMatch(unprintable);
      expect(out.stdout).toMatch(/\\u009b/);
    }
    // The escapes are JSON: scripts still read the stored values.
    expect(json((await run('keys', 'show', id, '--json')).stdout)).toMatchObject({
      name: `${C1_CSI}31mRED\u001b[0m`,
      metadata: { n: `a${RLO}b\u007f` },
    });
  });
});

describe('keyward keys import', () => {
  it('imports plaintext and JSON lines hashed, skips duplicates, reports bad lines by number only', async () => {
    const { db, run } = fresh();
    const file = join(dir, 'import.txt');
    const secretBad = 'kw_looks-like-ours-but-has-no-valid-checksum';
    const secretField = 'legacy-Sk3tQm9ZpX2v8RrLwN4bYc7Hd1Jf6Ug';
    writeFileSync(
      file,
      [
        '# legacy keys',
        'legacy-plain-key-0000000001',
        '',
        '{"key":"legacy-json-key-00000000002","name":"json","owner":"acme","scopes":["read"]}',
        'legacy-plain-key-0000000001',
        'short',
        secretBad,
        '{"key":"legacy-json-key-00000000003","scope":"typo"}',
        '{"key":"legacy-json-key-00000000004","uses":-1}',
        // Key material in the wrong place must not be printed either.
        `{"${secretField}": "billing"}`,
        `{"key":"legacy-json-key-00000000005","scopes":"${secretField} read"}`,
      ].join('\n'),
    );
    const out = await run('keys', 'import', file, '--json');
    expect(out.code).toBe(2);
    expect(json(out.stdout)).toEqual({ imported: 2, duplicates: 1, invalid: 6 });
    expect(out.stderr).toMatch(/line 6: key must be 16-256/);
    expect(out.stderr).toMatch(/line 7: key starts with "kw_"/);
    expect(out.stderr).toMatch(/line 8: unknown field \(allowed: key, name/);
    expect(out.stderr).toMatch(/line 9: uses must be/);
    expect(out.stderr).toMatch(/line 10: unknown field/);
    expect(out.stderr).toMatch(/line 11: scopes must be/);
    expect(out.stderr).not.toContain(secretBad);
    expect(out.stderr).not.toContain(secretField.slice(0, 12));
    expect(out.stderr).not.toContain('"scope"');
    expect((await verify(db, 'legacy-plain-key-0000000001')).principal?.name).toBe('imported');
    expect((await verify(db, 'legacy-json-key-00000000002')).principal).toMatchObject({
      name: 'json',
      owner: 'acme',
      scopes: ['read'],
    });
  });

  it('imports thousands of keys from stdin, drawing progress on a terminal', async () => {
    const { db, env } = fresh();
    const lines = Array.from({ length: 3000 }, (_, i) => `legacy-bulk-key-${String(i).padStart(10, '0')}\n`);
    const out = await cli(['keys', 'import', '-', '--db', db, '--batch', '1000'], env, {
      stdin: lines,
      tty: true,
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('imported 3000 keys; 0 already stored; 0 invalid lines skipped\n');
    expect(out.stderr).toMatch(/\r.*3,000 keys/);
    expect((await verify(db, 'legacy-bulk-key-0000002999')).outcome).toBe('valid');
  });

  it('reports an unreadable file as a usage error', async () => {
    const { run } = fresh();
    const out = await run('keys', 'import', join(dir, 'missing.txt'));
    expect(out).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read .*ENOENT/) });
  });
});

describe('keyward pepper', () => {
  it('generates a random 256-bit pepper that keyward accepts, plain or as JSON', async () => {
    const plain = await cli(['pepper', 'generate'], {});
    expect(plain.code).toBe(0);
    const pepper = plain.stdout.trim();
    expect(pepper).toMatch(/^[0-9A-Za-z_-]{43}$/);
    expect(plain.stderr).toBe('');
    const asJson = json((await cli(['pepper', 'generate', '--json'], {})).stdout);
    expect(asJson.pepper).toMatch(/^[0-9A-Za-z_-]{43}$/);
    expect(asJson.pepper).not.toBe(pepper);
    const { db } = fresh();
    expect((await cli(['keys', 'create', '--name', 'x', '--db', db], { KEYWARD_PEPPER: pepper })).code).toBe(
      0,
    );
    expect((await cli(['pepper', 'generate', '--help'], {})).stdout).toMatch(
      /Usage: keyward pepper generate/,
    );
  });

  it('refuses an obviously weak KEYWARD_PEPPER with exit 2, before creating anything', async () => {
    const { db } = fresh();
    for (const pepper of ['a'.repeat(32), 'changeme'.repeat(4), '0123456789'.repeat(4)]) {
      const out = await cli(['keys', 'create', '--name', 'x', '--db', db], { KEYWARD_PEPPER: pepper });
      expect({ pepper, code: out.code }).toEqual({ pepper, code: 2 });
      expect(out.stderr).toMatch(
        /^keyward: the pepper from KEYWARD_PEPPER is too weak: .*keyward pepper generate/,
      );
      expect(out.stderr).not.toContain(pepper);
      expect(existsSync(db)).toBe(false);
    }
  });

  it('reports a missing pepper file of an existing database (exit 5) and creates none', async () => {
    const { db } = fresh();
    expect((await cli(['keys', 'create', '--name', 'x', '--db', db], {})).code).toBe(0);
    rmSync(`${db}.pepper`);
    const out = await cli(['keys', 'list', '--db', db], {});
    expect(out.code).toBe(5);
    expect(out.stderr).toMatch(/its pepper file .*\.pepper is missing; restore it/);
    expect(existsSync(`${db}.pepper`)).toBe(false);
  });
});

describe('keyward errors and exit codes', () => {
  it('documents the exit codes and environment in --help, and has --help everywhere', async () => {
    const { env } = fresh();
    const top = await cli(['--help'], env);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Exit codes:[\s\S]*5 {2}wrong pepper/);
    for (const cmd of [
      ['keys'],
      ['keys', 'create'],
      ['keys', 'rotate'],
      ['keys', 'import'],
      ['audit'],
      ['serve'],
    ]) {
      const help = await cli([...cmd, '--help'], env);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Usage: keyward/);
    }
  });

  it('uses exit 2 for bad durations, scopes, limits, JSON, options and empty updates', async () => {
    const { run } = fresh();
    expect((await run('init')).code).toBe(0);
    const cases = [
      ['keys', 'create', '--name', 'x', '--expires', '3w'],
      ['keys', 'create', '--name', 'x', '--scopes', 'bad scope'],
      ['keys', 'create', '--name', 'x', '--rate-limit', 'lots'],
      ['keys', 'create', '--name', 'x', '--uses', '-1'],
      ['keys', 'create', '--name', 'x', '--metadata', '[1]'],
      ['keys', 'create'],
      ['keys', 'create', '--name', 'x', '--bogus'],
      ['keys', 'list', '--limit', '0'],
      ['keys', 'update', 'key_000000000000000000'],
      ['keys', 'list', '--cursor', 'junk'],
    ];
    for (const args of cases) {
      const out = await run(...args);
      expect({ args, code: out.code }).toEqual({ args, code: 2 });
      expect(out.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    }
  });

  it('refuses serve intervals of 0 or past 1 hour with exit 2, before opening anything', async () => {
    const { run } = fresh();
    for (const [flag, value] of [
      ['--cache-ttl', '0'],
      ['--cache-ttl', '2h'],
      ['--usage-flush', '30d'],
      ['--usage-flush', '0'],
    ]) {
      const out = await run('serve', '--port', '0', flag!, value!);
      expect({ flag, value, code: out.code }).toEqual({ flag, value, code: 2 });
      expect(out.stderr).toMatch(/must be from 1s to 1h/);
    }
  });

  it('uses exit 3 for unknown ids', async () => {
    const { run } = fresh();
    expect((await run('init')).code).toBe(0);
    for (const verb of ['show', 'revoke', 'disable', 'enable', 'delete', 'rotate']) {
      const out = await run('keys', verb, 'key_000000000000000000');
      expect(out).toMatchObject({ code: 3, stderr: 'keyward: no key with id "key_000000000000000000"\n' });
    }
  });

  it('never prints back a key pasted where an id, a file or an option value belongs', async () => {
    const { db, run } = fresh();
    const key = (await run('keys', 'create', '--name', 'pasted')).stdout.trim();
    const legacy = 'legacy+Sk3tQm9ZpX2v8RrLwN4bYc7Hd1Jf6Ug=';
    const secret = (text: string) => [key.slice(3), legacy.slice(7)].filter((s) => text.includes(s));
    const idCommands = ['show', 'revoke', 'disable', 'enable', 'delete', 'rotate'];
    for (const pasted of [key, legacy]) {
      for (const args of [
        ...idCommands.map((verb) => ['keys', verb, pasted]),
        ['keys', 'update', pasted, '--name', 'x'],
        ['audit', '--key', pasted],
      ]) {
        const out = await run(...args);
        expect({ args: args.slice(0, 2), code: out.code }).toEqual({ args: args.slice(0, 2), code: 3 });
        expect(out.stderr).toBe(
          'keyward: that looks like a key, not a key id (ids look like key_…; keys list shows them beside the first characters of each key)\n',
        );
        expect(out.stdout).toBe('');
      }
      const [id] = (await run('keys', 'list', '--json')).stdout.match(/key_\w{18}/)!;
      for (const args of [
        ['keys', 'create', '--name', 'x', '--expires', pasted],
        ['keys', 'create', '--name', 'x', '--uses', pasted],
        ['keys', 'create', '--name', 'x', '--rate-limit', pasted],
        ['keys', 'create', '--name', 'x', '--scopes', pasted],
        ['keys', 'create', '--name', 'x', '--metadata', pasted],
        ['keys', 'update', id, '--expires', pasted],
        ['keys', 'rotate', id, '--grace', pasted],
        ['keys', 'list', '--limit', pasted],
        ['keys', 'list', '--cursor', pasted],
        ['keys', 'import', pasted],
        ['audit', '--limit', pasted],
        ['keys', pasted],
        [pasted],
        // Glued to its option, or to an option that does not exist.
        ['keys', 'create', '--name', 'x', `--uses=${pasted}`],
        ['keys', 'create', '--name', 'x', `--metadata=${pasted}`],
        ['keys', 'create', '--name', 'x', `--expires-in=${pasted}`],
        ['keys', 'rotate', id, `--grace=${pasted}`],
        ['keys', 'list', `--limit=${pasted}`],
        ['serve', `--rate-limit=${pasted}`],
        ['serve', `-p${pasted}`],
      ]) {
        const out = await run(...args);
        expect({ args, code: out.code }).toEqual({ args, code: 2 });
        expect({ args, leaked: secret(out.stdout + out.stderr) }).toEqual({ args, leaked: [] });
      }
    }
    // A key is not stored as a name, owner, scope or metadata either: listings would print it.
    for (const args of [
      ['--name', `key ${key}`],
      ['--name', 'x', '--owner', key],
      ['--name', 'x', '--scopes', `read,${key}`],
      ['--name', 'x', '--metadata', JSON.stringify({ note: `old key: ${key}` })],
    ]) {
      const out = await run('keys', 'create', ...args);
      expect({ args: args.slice(-2, -1), code: out.code }).toEqual({ args: args.slice(-2, -1), code: 2 });
      expect(secret(out.stdout + out.stderr)).toEqual([]);
    }
    expect(secret((await cli(['keys', 'list', '--db', db], { KEYWARD_PEPPER: PEPPER })).stdout)).toEqual([]);
  });

  it('uses exit 4 for a locked or unreadable database', async () => {
    const { db, env } = fresh();
    await cli(['keys', 'create', '--name', 'x', '--db', db], env);
    const holder = new Database(db);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const locked = await cli(['keys', 'create', '--name', 'y', '--db', db], {
        ...env,
        KEYWARD_BUSY_TIMEOUT_MS: '50',
      });
      expect(locked.code).toBe(4);
      expect(locked.stderr).toMatch(/^keyward: database .* is locked by another process/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'not sqlite at all '.repeat(300));
    const unreadable = await cli(['keys', 'list', '--db', junk], env);
    expect(unreadable.code).toBe(4);
    expect(unreadable.stderr).toMatch(/not a readable keyward database/);
  });

  it('uses exit 5 for a wrong pepper', async () => {
    const { db, env } = fresh();
    await cli(['keys', 'create', '--name', 'x', '--db', db], env);
    const out = await cli(['keys', 'list', '--db', db], { KEYWARD_PEPPER: OTHER_PEPPER });
    expect(out.code).toBe(5);
    expect(out.stderr).toMatch(/created with another pepper/);
    expect(out.stderr).not.toContain(OTHER_PEPPER);
  });

  it('uses exit 7 for a database, -wal or -shm file that other users can write or own', async () => {
    const { db, run } = fresh();
    expect((await run('keys', 'create', '--name', 'victim', '--scopes', 'read')).code).toBe(0);
    for (const mode of [0o666, 0o664, 0o620]) {
      chmodSync(db, mode);
      const out = await run('keys', 'list');
      const shown = mode.toString(8).padStart(4, '0');
      expect(out).toEqual({
        code: 7,
        stdout: '',
        stderr: `keyward: refusing key store file ${db}: it is writable by group or others (mode ${shown}); run: chmod 600 ${db}\n`,
      });
    }
    // Readable is not refused: older databases were made 0644, and reading gives no way in.
    chmodSync(db, 0o644);
    expect((await run('keys', 'list')).code).toBe(0);
    chmodSync(db, 0o600);
    for (const side of ['-wal', '-shm']) {
      writeFileSync(`${db}${side}`, '');
      chmodSync(`${db}${side}`, 0o666);
      const out = await run('keys', 'list');
      expect(out.code).toBe(7);
      expect(out.stderr).toContain(`refusing key store file ${db}${side}: it is writable by group or others`);
      rmSync(`${db}${side}`);
    }
    expect((await run('keys', 'list')).code).toBe(0);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'uses exit 7 for a database owned by another user (as root)',
    async () => {
      const { db, run } = fresh();
      expect((await run('keys', 'create', '--name', 'x')).code).toBe(0);
      chownSync(db, 65534, 65534);
      try {
        const out = await run('keys', 'list');
        expect(out.code).toBe(7);
        expect(out.stderr).toBe(
          `keyward: refusing key store file ${db}: it is owned by another user (uid 65534, not 0)\n`,
        );
        // Pre-created by someone else, before keyward ever opened it.
        const planted = join(dir, 'planted.db');
        writeFileSync(planted, '', { mode: 0o600 });
        chownSync(planted, 65534, 65534);
        const create = await cli(['keys', 'create', '--name', 'y', '--db', planted], {
          KEYWARD_PEPPER: PEPPER,
        });
        expect(create.code).toBe(7);
        expect(create.stdout).toBe('');
      } finally {
        chownSync(db, 0, 0);
      }
      expect((await run('keys', 'list')).code).toBe(0);
    },
  );

  it('uses exit 7 for a pepper file that other users can read, and documents it', async () => {
    const { db } = fresh();
    const first = await cli(['keys', 'create', '--name', 'x', '--db', db], {});
    expect(first.code).toBe(0);
    chmodSync(`${db}.pepper`, 0o644);
    const out = await cli(['keys', 'list', '--db', db], {});
    expect(out.code).toBe(7);
    expect(out.stderr).toBe(
      `keyward: refusing pepper file ${db}.pepper: it is open to other users (mode 0644); run: chmod 600 ${db}.pepper\n`,
    );
    expect(out.stdout).toBe('');
    expect((await cli(['--help'], {})).stdout).toMatch(/7 {2}insecure pepper file/);
  });
});
