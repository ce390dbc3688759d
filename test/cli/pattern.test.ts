// `keyward keys pattern` and the per-deployment key prefix, run in-process.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PEPPER, tempDir } from '../keys/temp.js';
import { cli } from './run.js';

const dir = tempDir('keyward-pattern-');

describe('a key prefix per deployment', () => {
  it('issues keys with KEYWARD_KEY_PREFIX, and keys pattern prints a regex that matches them', async () => {
    const env = { KEYWARD_PEPPER: PEPPER, KEYWARD_KEY_PREFIX: 'acme' };
    const db = join(dir, 'acme.db');
    const created = await cli(['keys', 'create', '--name', 'a', '--json', '--db', db], env);
    expect(created.code).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };
    expect(key).toMatch(/^acme_[0-9A-Za-z]{38}$/);

    const out = await cli(['keys', 'pattern', '--json'], env);
    expect(out.code).toBe(0);
    const pattern = JSON.parse(out.stdout) as { regex: string; prefix: string; length: number };
    expect(pattern).toMatchObject({ prefix: 'acme', length: 43 });
    expect(`leaked: ${key}.`.match(new RegExp(pattern.regex, 'g'))).toEqual([key]);

    // The flag wins over the environment.
    const flag = await cli(['keys', 'pattern', '--key-prefix', 'other'], env);
    expect(flag.stdout.split('\n')[0]).toBe('\\bother_[0-9A-Za-z]{38}\\b');
    expect(flag.stdout).toMatch(/checksum: CRC-32/);
  });

  it('prints a gitleaks rule, and refuses a bad prefix as a usage error', async () => {
    const rule = await cli(['keys', 'pattern', '--gitleaks', '--key-prefix', 'acme'], {});
    expect(rule.code).toBe(0);
    expect(rule.stdout).toContain("regex = '''\\bacme_[0-9A-Za-z]{38}\\b'''");
    const bad = await cli(['keys', 'pattern', '--key-prefix', 'Bad-Prefix'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/key prefix must be/);
  });
});
