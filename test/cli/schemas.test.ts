// Every command's --json output against the JSON Schema shipped in @keyward/server/schemas
// (validated with Ajv), and every command with --json has a schema.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Ajv } from 'ajv';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandTree } from '../../packages/server/src/cli/completion.js';
import type { CliIO } from '../../packages/server/src/cli/io.js';
import { buildProgram } from '../../packages/server/src/cli/program.js';
import { EVENT_NAMES } from '../../packages/server/src/webhooks/registry.js';
import { PEPPER, tempDir } from '../keys/temp.js';
import { cli, root } from './run.js';

const SCHEMAS = join(root, 'packages/server/schemas');

/** Which schema documents each command's --json output. */
const SCHEMA_OF: Record<string, string> = {
  'keys create': 'keys-create.json',
  'keys list': 'keys-list.json',
  'keys show': 'key-record.json',
  'keys update': 'key-record.json',
  'keys disable': 'key-record.json',
  'keys enable': 'key-record.json',
  'keys revoke': 'key-record.json',
  'keys delete': 'key-record.json',
  'keys rotate': 'keys-rotate.json',
  'keys import': 'keys-import.json',
  'keys verify': 'keys-verify.json',
  'keys export': 'keys-export.json',
  audit: 'audit.json',
  'pepper generate': 'pepper-generate.json',
  init: 'init.json',
  doctor: 'doctor.json',
  completion: 'completion.json',
  'keys pattern': 'keys-pattern.json',
  'owners create': 'owner.json',
  'owners list': 'owners-list.json',
  'owners show': 'owner.json',
  'owners update': 'owner.json',
  'owners delete': 'owner.json',
  'policy show': 'policy.json',
  'policy set': 'policy.json',
  usage: 'usage.json',
  'usage top': 'usage-top.json',
  scan: 'scan.json',
  'webhooks add': 'webhooks-add.json',
  'webhooks list': 'webhooks-list.json',
  'webhooks remove': 'webhooks-remove.json',
  'webhooks test': 'webhooks-test.json',
};

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: true });
  for (const file of readdirSync(SCHEMAS)) {
    ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object);
  }
  return (schema: string, value: unknown) => {
    const validate = ajv.getSchema(schema);
    if (!validate) throw new Error(`no schema ${schema}`);
    const valid = validate(value);
    return valid ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

const dir = tempDir('keyward-schemas-');

describe('the JSON Schemas of --json output', () => {
  it('are valid schemas, each with its file name as $id', () => {
    const files = readdirSync(SCHEMAS);
    expect(files.length).toBeGreaterThanOrEqual(new Set(Object.values(SCHEMA_OF)).size + 1);
    const check = validator();
    for (const file of files) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as { $id: string };
      expect(schema.$id).toBe(file);
    }
    // The webhook schemas name every event there is, no more and no fewer.
    for (const file of ['webhooks-add.json', 'webhooks-list.json']) {
      const text = readFileSync(join(SCHEMAS, file), 'utf8');
      const enums = [...text.matchAll(/"enum": (\[[^\]]*"key\.created"[^\]]*\])/g)].map(
        (m) => JSON.parse(m[1]!) as string[],
      );
      expect(enums.length, file).toBeGreaterThan(0);
      for (const names of enums) expect(names, file).toEqual([...EVENT_NAMES]);
    }
    // A schema that accepts anything would check nothing.
    expect(check('key-record.json', {})).not.toEqual([]);
    expect(check('keys-list.json', { keys: [], nextCursor: null, extra: 1 })).not.toEqual([]);
    expect(check('error.json', { error: { code: 'nope', message: 'x' } })).not.toEqual([]);
  });

  it('cover every command that takes --json', () => {
    const io: CliIO = {
      stdout: { write: () => true },
      stderr: { write: () => true },
      env: {},
      stdin: Readable.from([]),
    };
    const program: Command = buildProgram(io);
    const withJson = commandTree(program)
      .filter((n) => n.options.includes('--json'))
      .map((n) => n.path);
    expect(withJson.length).toBeGreaterThan(10);
    expect(withJson.filter((path) => !(path in SCHEMA_OF))).toEqual([]);
  });

  it('describe what each command prints', async () => {
    const check = validator();
    const db = join(dir, 'store.db');
    const env = { KEYWARD_PEPPER: PEPPER };
    const seen = new Set<string>();
    const run = async (
      command: string,
      args: string[],
      options: { stdin?: string[]; code?: number } = {},
    ) => {
      const out = await cli([...command.split(' '), ...args, '--json'], env, { stdin: options.stdin });
      expect({ command, args, code: out.code, stderr: out.stderr }).toMatchObject({
        command,
        args,
        code: options.code ?? 0,
      });
      const value = JSON.parse(out.stdout) as Record<string, unknown>;
      expect({ command, problems: check(SCHEMA_OF[command]!, value) }).toEqual({ command, problems: [] });
      seen.add(command);
      return value;
    };
    await run('init', ['--db', db]);
    await run('owners create', ['acme', '--credits', '100', '--refill', '100/month', '--db', db]);
    const created = await run('keys create', ['--name', 'a', '--scopes', 'read', '--uses', '5', '--db', db]);
    const other = await run('keys create', [
      '--name',
      'b',
      '--owner',
      'acme',
      '--rate-limit',
      '10/1m',
      '--expires',
      '30d',
      '--ip-allow',
      '10.0.0.0/8',
      '--db',
      db,
    ]);
    expect(other.restrictions).toEqual({ ipAllow: ['10.0.0.0/8'] });
    const id = created.id as string;
    await run('keys list', ['--db', db]);
    await run('keys show', [id, '--db', db]);
    await run('keys update', [id, '--name', 'a2', '--db', db]);
    await run('keys disable', [id, '--db', db]);
    await run('keys enable', [id, '--db', db]);
    await run('keys verify', ['--db', db], { stdin: [`${created.key as string}\n`] });
    await run('keys verify', ['--db', db], { stdin: ['unknown-key-0123456789\n'], code: 1 });
    const rotated = await run('keys rotate', [other.id as string, '--db', db]);
    await run('keys revoke', [rotated.id as string, '--db', db]);
    await run('keys delete', [id, '--yes', '--db', db]);
    const file = join(dir, 'import.txt');
    writeFileSync(file, 'legacy-key-0123456789abcdef\n{"key":"legacy-key-abcdef0123456789","name":"j"}\n');
    await run('keys import', [file, '--db', db]);
    await run('keys export', ['--db', db]);
    const lines = (await cli(['keys', 'export', '--jsonl', '--db', db], env)).stdout.trim().split('\n');
    expect(lines.length).toBe(4);
    for (const line of lines) expect(check('key-record.json', JSON.parse(line))).toEqual([]);
    await run('audit', ['--db', db]);
    await run('pepper generate', []);
    await run('doctor', ['--db', db]);
    await run('doctor', ['--db', join(dir, 'missing.db')], { code: 1 });
    await run('completion', ['bash']);
    await run('keys pattern', []);
    await run('keys pattern', ['--gitleaks', '--key-prefix', 'acme']);
    await run('owners list', ['--db', db]);
    await run('owners show', ['acme', '--db', db]);
    const updated = await run('owners update', [
      'acme',
      '--rate-limit',
      '100/1m',
      '--max-lifetime',
      '90d',
      '--routes',
      'GET /secure-data',
      '--db',
      db,
    ]);
    expect(updated.restrictions).toEqual({ routes: ['GET /secure-data'] });
    await run('policy set', ['--max-lifetime', '365d', '--db', db]);
    await run('policy show', ['--db', db]);
    await run('usage', ['--db', db]);
    await run('usage', ['--owner', 'acme', '--since', '1h', '--db', db]);
    await run('usage top', ['--owners', '--db', db]);
    const tree = join(dir, 'scanned');
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, 'config.env'), `TOKEN=${rotated.key as string}\n`);
    const scanned = await run('scan', [tree, '--check', '--db', db]);
    expect(scanned).toMatchObject({ findings: [{ file: expect.any(String), line: 1, state: 'revoked' }] });
    const hook = await run('webhooks add', [
      '--url',
      'http://127.0.0.1:9/hook',
      '--events',
      '*',
      '--allow-private-webhooks',
      '--db',
      db,
    ]);
    await run('webhooks list', ['--db', db]);
    // Nothing listens on port 9: the test event is not delivered (exit 1), and says so.
    const tested = await run('webhooks test', [hook.id as string, '--allow-private-webhooks', '--db', db], {
      code: 1,
    });
    expect(tested).toMatchObject({ ok: false, status: 0 });
    await run('webhooks remove', [hook.id as string, '--db', db]);
    await run('owners delete', ['acme', '--force', '--db', db]);
    expect([...seen].sort()).toEqual(Object.keys(SCHEMA_OF).sort());
  });

  it('describe errors under --json', async () => {
    const check = validator();
    for (const args of [
      ['keys', 'list', '--db', join(dir, 'typo.db')],
      ['keys', 'show', 'key_000000000000000000', '--db', join(dir, 'store.db')],
      ['keys', 'list', '--limit', '0'],
    ]) {
      const out = await cli([...args, '--json'], { KEYWARD_PEPPER: PEPPER });
      expect(out.code).toBeGreaterThan(0);
      expect(check('error.json', JSON.parse(out.stderr))).toEqual([]);
    }
  });
});
