import { KeyManager, MemoryKeyStore } from '@keyward/keys';
import { afterEach, describe, expect, it } from 'vitest';
import { judgeMatches, parseMatches, SCANNING_ACTOR } from './secret-scanning.js';

let manager: KeyManager | undefined;
afterEach(async () => {
  await manager?.close();
  manager = undefined;
});

async function open(prefix = 'acme') {
  manager = await KeyManager.open({
    store: new MemoryKeyStore(),
    prefix,
    pollIntervalMs: 0,
    flushIntervalMs: 0,
  });
  return manager;
}

const at = (token: string, url = 'https://github.com/o/r/blob/1/.env') => ({
  token,
  type: 'acme_api_key',
  url,
  source: 'content',
});

describe('judgeMatches', () => {
  it('labels known keys true positives and revokes them; look-alikes and unknown keys are false positives', async () => {
    const m = await open();
    const { key, record } = await m.create({ name: 'live' });
    const unknown = m.format.generate();
    const lookAlike = `acme_${'A'.repeat(38)}`;
    const verdicts = await judgeMatches([at(key), at(unknown), at(lookAlike), at('kw_other')], m, 'revoke');
    expect(verdicts.map((v) => v.label)).toEqual([
      'true_positive',
      'false_positive',
      'false_positive',
      'false_positive',
    ]);
    expect(verdicts[0]).toEqual({ token_raw: key, token_type: 'acme_api_key', label: 'true_positive' });
    expect((await m.check(key, { dryRun: true })).outcome).toBe('revoked');
    const [entry] = await m.audit({ keyId: record.id, limit: 1 });
    expect(entry).toMatchObject({
      action: 'leak',
      actor: SCANNING_ACTOR,
      detail: {
        reporter: 'github',
        url: 'https://github.com/o/r/blob/1/.env',
        source: 'content',
        type: 'acme_api_key',
      },
    });
    expect(entry!.changes).toHaveProperty('revokedAt');
    expect(JSON.stringify(await m.audit({ limit: 100 }))).not.toContain(key);
  });

  it('is idempotent: a replay, or a token listed twice, writes one entry', async () => {
    const m = await open();
    const { key, record } = await m.create({ name: 'live' });
    await judgeMatches([at(key), at(key)], m, 'revoke');
    const replay = await judgeMatches([at(key)], m, 'revoke');
    expect(replay[0]!.label).toBe('true_positive');
    const leaks = (await m.audit({ keyId: record.id })).filter((e) => e.action === 'leak');
    expect(leaks).toHaveLength(1);
    // Found somewhere else: recorded again, the revocation time kept.
    const revokedAt = (await m.get(record.id)).revokedAt;
    await judgeMatches([at(key, 'https://github.com/o/other/blob/2/x')], m, 'revoke');
    expect((await m.audit({ keyId: record.id })).filter((e) => e.action === 'leak')).toHaveLength(2);
    expect((await m.get(record.id)).revokedAt).toEqual(revokedAt);
  });

  it('disables, or only notes, as the leak action says', async () => {
    const m = await open();
    const disabled = await m.create({ name: 'd' });
    await judgeMatches([at(disabled.key)], m, 'disable');
    expect(await m.get(disabled.record.id)).toMatchObject({ enabled: false, revokedAt: null });
    const noted = await m.create({ name: 'n' });
    await judgeMatches([at(noted.key)], m, 'notify');
    expect((await m.check(noted.key, { dryRun: true })).outcome).toBe('valid');
    const [entry] = await m.audit({ keyId: noted.record.id, limit: 1 });
    expect(entry).toMatchObject({ action: 'leak', changes: {}, detail: { source: 'content' } });
  });
  it('works the same with a store that cannot batch updates', async () => {
    const store = new MemoryKeyStore();
    Object.defineProperty(store, 'updateMany', { value: undefined });
    manager = await KeyManager.open({ store, prefix: 'acme', pollIntervalMs: 0, flushIntervalMs: 0 });
    const a = await manager.create({ name: 'a' });
    const b = await manager.create({ name: 'b' });
    const verdicts = await judgeMatches([at(a.key), at(b.key), at(a.key)], manager, 'revoke');
    expect(verdicts.map((v) => v.label)).toEqual(['true_positive', 'true_positive', 'true_positive']);
    await judgeMatches([at(a.key)], manager, 'revoke');
    expect((await manager.audit({ limit: 100 })).filter((e) => e.action === 'leak')).toHaveLength(2);
    expect((await manager.check(b.key, { dryRun: true })).outcome).toBe('revoked');
  });
});

describe('parseMatches', () => {
  it('takes GitHub matches and refuses anything else with a reason', () => {
    expect(parseMatches('[{"token":"t","type":"x","url":"u","source":"content"}]')).toEqual([
      { token: 't', type: 'x', url: 'u', source: 'content' },
    ]);
    expect(parseMatches('{')).toMatch(/not JSON/);
    expect(parseMatches('{}')).toMatch(/array/);
    expect(parseMatches('[{"type":"x"}]')).toMatch(/"token"/);
    expect(
      parseMatches(JSON.stringify(Array.from({ length: 1001 }, () => ({ token: 't', type: 'x' })))),
    ).toMatch(/at most 1000/);
    // Control characters never reach the audit log.
    expect(parseMatches('[{"token":"t","type":"x","url":"a\\u001b[31mb"}]')).toEqual([
      { token: 't', type: 'x', url: 'a[31mb', source: undefined },
    ]);
  });
});
