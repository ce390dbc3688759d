// kill -9 right after acknowledged changes loses none of them (WAL, synchronous=FULL).
import { join } from 'node:path';
import { openKeyManager } from '@keyward/server';
import { expect, it } from 'vitest';
import { spawnCli } from '../cli/run.js';
import { PEPPER, tempDir } from './temp.js';

const dir = tempDir();

it('keeps an acknowledged create, revoke and rotate after kill -9', async () => {
  const db = join(dir, 'kill.db');
  const script = new URL('./fixtures/change-then-hang.ts', import.meta.url).pathname;
  const child = spawnCli([db], { KEYWARD_PEPPER: PEPPER }, { script });
  await child.waitFor(/"step":"rotated"/);
  child.child.kill('SIGKILL');
  expect(await child.exited).toBeNull();
  const [created, revoked, rotated] = child
    .output()
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l));

  const m = await openKeyManager({ database: db, env: { KEYWARD_PEPPER: PEPPER }, pollIntervalMs: 0 });
  try {
    expect(await m.get(created.id)).toMatchObject({ replacedBy: rotated.id });
    expect((await m.check(created.key, { dryRun: true })).outcome).toBe('valid'); // in its grace period
    expect((await m.check(revoked.key, { dryRun: true })).outcome).toBe('revoked');
    expect((await m.check(rotated.key, { dryRun: true })).principal).toMatchObject({
      name: 'a',
      scopes: ['read'],
    });
    expect((await m.audit()).map((e) => e.action)).toEqual([
      'create',
      'rotate',
      'revoke',
      'create',
      'create',
    ]);
  } finally {
    await m.close();
  }
});
