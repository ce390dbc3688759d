// `keyward scan` on a fixture repository made here: live, revoked and look-alike keys in
// files, in git history only, in skipped folders and binary files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEPPER, tempDir } from '../keys/temp.js';
import { cli } from './run.js';

const dir = tempDir('keyward-scan-');
const repo = join(dir, 'repo');
const db = join(dir, 'keyward.db');
const env = { KEYWARD_PEPPER: PEPPER, KEYWARD_KEY_PREFIX: 'acme' };
let manager: KeyManager;
const keys = { history: '', live: '', revoked: '', lookAlike: '', historyId: '', liveId: '' };

const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd: repo,
    stdio: 'pipe',
  });
const write = (file: string, text: string) => {
  mkdirSync(join(repo, file, '..'), { recursive: true });
  writeFileSync(join(repo, file), text);
};
const scan = (...args: string[]) => cli(['scan', ...args, '--db', db], env);
// biome-ignore lint/suspicious/noExplicitAny: parsed CLI output, checked by the assertions
const json = (text: string) => JSON.parse(text) as Record<string, any>;
const noKeyIn = (text: string) => {
  for (const key of [keys.history, keys.live, keys.revoked]) expect(text).not.toContain(key.slice(9));
};

beforeAll(async () => {
  manager = await openKeyManager({ database: db, pepper: PEPPER, prefix: 'acme', pollIntervalMs: 0 });
  const history = await manager.create({ name: 'history' });
  const live = await manager.create({ name: 'live' });
  const revoked = await manager.create({ name: 'revoked' });
  await manager.revoke(revoked.record.id);
  Object.assign(keys, {
    history: history.key,
    historyId: history.record.id,
    live: live.key,
    liveId: live.record.id,
    revoked: revoked.key,
    // The right shape, a wrong checksum: what a random match looks like.
    lookAlike: `acme_${live.key.slice(5, 37)}zzzzzz`,
  });
  mkdirSync(repo);
  git('init', '-q', '-b', 'main');
  write('config/.env', `DEBUG=1\nREGION=eu\nAPI_KEY=${keys.history}\n`);
  write('src/app.ts', `// client\nconst key = "${keys.revoked}";\nconst sample = "${keys.lookAlike}";\n`);
  write('src/settings.json', `{\n  "a": 1,\n  "b": 2,\n  "key": "${keys.live}"\n}\n`);
  write('notes.md', `Other services: kw_${'a'.repeat(38)}, acme_short, xacme_${'b'.repeat(38)}\n`);
  git('add', '.');
  git('commit', '-q', '-m', 'first');
  // Removed from the files, still in the history.
  write('config/.env', 'DEBUG=1\nREGION=eu\nAPI_KEY=$API_KEY\n');
  git('commit', '-q', '-am', 'move the key out');
  // Never scanned: dependencies and binary files.
  write('node_modules/dep/index.js', `module.exports = "${keys.live}";\n`);
  writeFileSync(join(repo, 'blob.bin'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(keys.live)]));
});

afterAll(async () => {
  await manager?.close();
});

describe('keyward scan', () => {
  it('finds keys in files with file:line and the display fragment, never the key; look-alikes are counted', async () => {
    const out = await scan(repo);
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`src/app\\.ts:2\\s+${keys.revoked.slice(0, 9)}…$`));
    expect(lines[1]).toMatch(new RegExp(`src/settings\\.json:4\\s+${keys.live.slice(0, 9)}…$`));
    expect(out.stderr).toMatch(/2 keys found in 4 files; 1 look-alikes with a bad checksum ignored/);
    noKeyIn(out.stdout + out.stderr);
  });

  it('with --check, says which keys are still active and exits 1', async () => {
    const out = await scan(repo, '--check', '--json');
    expect(out.code).toBe(1);
    const result = json(out.stdout);
    expect(
      result.findings.map((f: { file: string; line: number; state: string }) => [
        f.file.slice(repo.length + 1),
        f.line,
        f.state,
      ]),
    ).toEqual([
      ['src/app.ts', 2, 'revoked'],
      ['src/settings.json', 4, 'active'],
    ]);
    expect(result).toMatchObject({ files: 4, lookAlikes: 1 });
    expect(out.stderr).toMatch(/1 active keys found/);
    noKeyIn(out.stdout + out.stderr);
  });

  it('with --git, finds keys that only the history holds, with the commit that added them', async () => {
    const out = await scan(repo, '--git', '--check', '--json');
    expect(out.code).toBe(1);
    const findings = json(out.stdout).findings as {
      file: string;
      line: number;
      commit: string;
      state: string;
    }[];
    const first = execFileSync('git', ['rev-list', '--max-parents=0', 'HEAD'], { cwd: repo })
      .toString()
      .slice(0, 12);
    expect(findings).toContainEqual({
      file: 'config/.env',
      line: 3,
      commit: first,
      display: `${keys.history.slice(0, 9)}…`,
      state: 'active',
    });
    expect(findings.map((f) => f.file).sort()).toEqual(['config/.env', 'src/app.ts', 'src/settings.json']);
    noKeyIn(out.stdout + out.stderr);
  });

  it('exits 0 with --check once every key found is revoked, and prints a gitleaks rule', async () => {
    await manager.revoke(keys.liveId);
    await manager.revoke(keys.historyId);
    const out = await scan(repo, '--git', '--check');
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/3 keys found in \d+ files of the history, 0 still active/);
    const rule = await scan('--gitleaks');
    expect(rule.stdout).toContain("regex = '''\\bacme_[0-9A-Za-z]{38}\\b'''");
  });

  it('refuses a path that does not exist, and a folder that is no repository with --git', async () => {
    expect((await scan(join(dir, 'missing'))).stderr).toMatch(/no such file or folder/);
    const notRepo = await scan(dir, '--git');
    expect(notRepo.code).toBe(1);
    expect(notRepo.stderr).toMatch(/git log failed/);
  });
});
