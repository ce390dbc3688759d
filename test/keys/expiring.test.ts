// KeyManager.noticeExpiring: one `expiring` audit entry per key and expiry, for keys that
// are still usable and expire within the notice.
import { KeyManager, MemoryKeyStore } from '@keyward/keys';
import { afterEach, describe, expect, it } from 'vitest';

const DAY = 24 * 60 * 60 * 1000;
let manager: KeyManager | undefined;
afterEach(async () => {
  await manager?.close();
});

describe('noticeExpiring', () => {
  it('notes each key expiring within the notice once, and again after a new expiry', async () => {
    let now = Date.UTC(2026, 0, 1);
    const m = await KeyManager.open({
      store: new MemoryKeyStore(),
      now: () => now,
      pollIntervalMs: 0,
      flushIntervalMs: 0,
    });
    manager = m;
    const soon = await m.create({ name: 'soon', expiresIn: '3d' });
    const later = await m.create({ name: 'later', expiresIn: '30d' });
    const never = await m.create({ name: 'never' });
    const revoked = await m.create({ name: 'revoked', expiresIn: '2d' });
    await m.revoke(revoked.record.id);
    expect(await m.noticeExpiring(7 * DAY, { actor: 'webhooks' })).toBe(1);
    const [entry] = await m.audit({ keyId: soon.record.id, limit: 1 });
    expect(entry).toMatchObject({
      action: 'expiring',
      actor: 'webhooks',
      changes: {},
      detail: { expiresAt: soon.record.expiresAt!.toISOString() },
    });
    // Once: the next scan writes nothing for it.
    now += DAY;
    expect(await m.noticeExpiring(7 * DAY)).toBe(0);
    // A new expiry re-arms the notice.
    await m.update(soon.record.id, { expiresIn: '5d' });
    expect(await m.noticeExpiring(7 * DAY)).toBe(1);
    // The 30-day key comes into the window later.
    now += 23 * DAY;
    expect(await m.noticeExpiring(7 * DAY)).toBe(1);
    const noted = (await m.audit({ limit: 100 })).filter((e) => e.action === 'expiring').map((e) => e.keyId);
    expect(noted).toEqual([later.record.id, soon.record.id, soon.record.id]);
    expect(noted).not.toContain(never.record.id);
    // Expired keys get nothing more.
    now += 30 * DAY;
    expect(await m.noticeExpiring(7 * DAY)).toBe(0);
  });
});
