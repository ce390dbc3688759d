// Webhooks on SQLite: the CLI registers receivers, the dispatcher delivers the audit log
// to a local receiver, signed; a receiver that is down gets retries with backoff.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  EXPIRING_SCAN_MS,
  RETRY_BASE_MS,
  THRESHOLD_SCAN_MS,
  WebhookDispatcher,
} from '../../packages/server/src/webhooks/dispatcher.js';
import { PEPPER, tempDir } from '../keys/temp.js';
import { cli } from './run.js';

const dir = tempDir('keyward-webhooks-');
let n = 0;

interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  event: { type: string; timestamp: string; data: Record<string, unknown> };
}

/** A local receiver that answers `status()` and keeps what it was sent. */
async function receiver(status: () => number = () => 204) {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const code = status();
      if (code < 300) {
        received.push({
          id: String(req.headers['webhook-id']),
          timestamp: String(req.headers['webhook-timestamp']),
          signature: String(req.headers['webhook-signature']),
          body,
          event: JSON.parse(body),
        });
      }
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}
let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

/** The receiver's side of Standard Webhooks: recompute the signature from the secret. */
function verifies(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = createHmac('sha256', key).update(`${r.id}.${r.timestamp}.${r.body}`).digest('base64');
  return r.signature.split(' ').includes(`v1,${mac}`);
}

/** A new, empty key store: `webhooks add` needs one (only init, keys create and keys import make it). */
async function fresh() {
  const db = join(dir, `hooks-${++n}.db`);
  const env = { KEYWARD_PEPPER: PEPPER };
  const run = (...args: string[]) => cli([...args, '--db', db], env);
  const runWith = (more: NodeJS.ProcessEnv, ...args: string[]) =>
    cli([...args, '--db', db], { ...env, ...more });
  expect((await run('init')).code).toBe(0);
  return { db, run, runWith };
}

const managers: KeyManager[] = [];
async function open(db: string, now?: () => number) {
  const m = await openKeyManager({
    database: db,
    pepper: PEPPER,
    pollIntervalMs: 0,
    flushIntervalMs: 0,
    now,
  });
  managers.push(m);
  return m;
}
afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
});

/** `webhooks add` for a local receiver. */
const adding = (url: string, events: string) => [
  'webhooks',
  'add',
  '--url',
  url,
  '--events',
  events,
  '--allow-private-webhooks',
];

/** A fresh store with one receiver for `events` answering `status()`, and a dispatcher on a clock the test moves. */
async function withReceiver(events: string, status?: () => number) {
  const { db, run } = await fresh();
  const hook = await receiver(status);
  const added = await run(...adding(hook.url, events), '--json');
  const { secret } = JSON.parse(added.stdout) as { secret: string };
  const manager = await open(db);
  const clock = { now: Date.now() };
  const lines: string[] = [];
  const outcomes: string[] = [];
  const dispatcher = new WebhookDispatcher({
    manager,
    allowPrivate: true,
    now: () => clock.now,
    log: (l) => lines.push(l),
    onDelivery: (o) => outcomes.push(o),
  });
  const state = async () => JSON.parse((await run('webhooks', 'list', '--json')).stdout).webhooks[0];
  return { db, run, hook, secret, manager, clock, lines, outcomes, dispatcher, state };
}

/** What `spendTen` makes the dispatchers send: `[threshold, remaining, total]`. */
const TEN_SPENT = [
  [80, 2, 10],
  [100, 0, 10],
];

/**
 * A `usage.threshold` receiver and two dispatchers on its store: `scan()` moves the clock
 * past a threshold scan and lets both tick; `spendTen(key)` spends all 10 credits or uses
 * of `key`, checking that 80 % is sent once, at the 8th, and nothing before.
 */
async function thresholdRig(start?: number) {
  const rig = await withReceiver('usage.threshold');
  const { db, clock, hook } = rig;
  // From `start` on, the managers (spends, refills, scans) run on the test's clock too.
  if (start !== undefined) clock.now = start;
  const now = start === undefined ? undefined : () => clock.now;
  const manager = now ? await open(db, now) : rig.manager;
  const [a, b] = [manager, await open(db, now)].map(
    (m) => new WebhookDispatcher({ manager: m, allowPrivate: true, now: () => clock.now }),
  );
  const scan = async () => {
    clock.now += THRESHOLD_SCAN_MS;
    await Promise.all([a!.tick(), b!.tick()]);
    await Promise.all([a!.tick(), b!.tick()]);
  };
  const spend = async (key: string, n: number) => {
    for (let i = 0; i < n; i++) expect((await manager.check(key)).outcome).toBe('valid');
  };
  const spendTen = async (key: string) => {
    await spend(key, 7);
    await scan();
    expect(hook.received).toHaveLength(0);
    await spend(key, 1); // 8 of 10: 80 %
    await scan();
    await scan();
    expect(hook.received.map((r) => r.event.data.threshold)).toEqual([80]);
    await spend(key, 2); // all 10
    await scan();
    await scan();
  };
  /**
   * What was sent, as `[threshold, remaining, total]`, after checking each is a signed
   * `usage.threshold` with a unique id and no key.
   */
  const sent = (key: string) => {
    expect(new Set(hook.received.map((r) => r.id)).size).toBe(hook.received.length);
    for (const r of hook.received) {
      expect(r.event.type).toBe('usage.threshold');
      expect(verifies(rig.secret, r)).toBe(true);
      expect(r.body).not.toContain(key);
    }
    return hook.received.map(({ event: { data } }) => [data.threshold, data.remaining, data.total]);
  };
  return { ...rig, manager, scan, spend, spendTen, sent };
}

describe('keyward webhooks', () => {
  it('adds a receiver (refusing a private one unless allowed), lists, tests and removes it', async () => {
    const { run, runWith } = await fresh();
    const hook = await receiver();
    const refused = await run('webhooks', 'add', '--url', hook.url, '--events', 'key.created');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/loopback or private address/);
    // The variable allows it only when true: =0 keeps the refusal.
    const add = ['webhooks', 'add', '--url', hook.url, '--events', 'key.created', '--json'];
    const off = await runWith({ KEYWARD_ALLOW_PRIVATE_WEBHOOKS: '0' }, ...add);
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/loopback or private address/);
    const on = await runWith({ KEYWARD_ALLOW_PRIVATE_WEBHOOKS: '1' }, ...add);
    expect(on.code).toBe(0);
    const { id: viaEnv } = JSON.parse(on.stdout) as { id: string };
    expect((await run('webhooks', 'remove', viaEnv)).code).toBe(0);
    expect((await run(...adding(hook.url, 'key.nope'))).stderr).toMatch(/unknown event "key.nope"/);
    const added = await run(...adding(hook.url, 'key.created,key.revoked'));
    expect(added.code).toBe(0);
    const secret = added.stdout.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = /Added webhook (wh_[0-9a-f]{16})/.exec(added.stderr)![1]!;

    const list = await run('webhooks', 'list', '--json');
    expect(JSON.parse(list.stdout).webhooks).toEqual([
      expect.objectContaining({
        id,
        url: hook.url,
        events: ['key.created', 'key.revoked'],
        delivered: 0,
        failed: 0,
      }),
    ]);
    expect(list.stdout).not.toContain(secret.slice(6));

    const test = await run('webhooks', 'test', id, '--allow-private-webhooks');
    expect(test.code).toBe(0);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.event.type).toBe('webhook.test');
    expect(verifies(secret, hook.received[0]!)).toBe(true);
    // Without the allowance the same receiver is refused at delivery too.
    expect((await run('webhooks', 'test', id)).code).toBe(1);

    expect((await run('webhooks', 'remove', id)).code).toBe(0);
    expect((await run('webhooks', 'remove', id)).code).toBe(3);
    expect((await run('webhooks', 'list')).stdout).toBe('no webhooks\n');
  });

  it('delivers the events asked for, in order, signed, with the key record and never the key', async () => {
    const { hook, secret, manager, dispatcher, state } = await withReceiver(
      'key.created,key.revoked,key.leaked',
    );
    const { key, record } = await manager.create({ name: 'billing' });
    await manager.update(record.id, { name: 'renamed' }); // not asked for
    await manager.revoke(record.id);
    await manager.reportLeak(record.id, 'notify', {
      url: 'https://github.com/o/r/blob/1/x',
      source: 'content',
    });
    await dispatcher.tick();
    expect(hook.received.map((r) => r.event.type)).toEqual(['key.created', 'key.revoked', 'key.leaked']);
    for (const r of hook.received) expect(verifies(secret, r)).toBe(true);
    expect(hook.received[0]!.event.data).toMatchObject({
      key: { id: record.id, name: 'renamed', display: record.display },
    });
    expect(hook.received[2]!.event.data).toMatchObject({
      detail: { url: 'https://github.com/o/r/blob/1/x' },
    });
    expect(JSON.stringify(hook.received)).not.toContain(key);
    // Nothing new: nothing sent again.
    await dispatcher.tick();
    expect(hook.received).toHaveLength(3);
    expect(await state()).toMatchObject({ delivered: 3, failed: 0, retrying: false });
  });

  it('delivers owner events (owner.* subscribes to all three) with the owner record, never a key', async () => {
    const { run, hook, secret, manager, dispatcher, state } = await withReceiver('owner.*');
    expect((await run('webhooks', 'list', '--json')).stdout).toContain(
      '"events":["owner.created","owner.updated","owner.deleted"]',
    );
    await manager.createOwner({ name: 'acme', credits: 100 }, { actor: 'ops' });
    await manager.updateOwner('acme', { credits: 500 });
    const { key } = await manager.create({ name: 'of-acme', owner: 'acme' }); // key.* not asked for
    await manager.deleteOwner('acme', { force: true });
    await dispatcher.tick();
    expect(hook.received.map((r) => r.event.type)).toEqual([
      'owner.created',
      'owner.updated',
      'owner.deleted',
    ]);
    for (const r of hook.received) expect(verifies(secret, r)).toBe(true);
    const [created, updated, deleted] = hook.received.map((r) => r.event.data);
    expect(created).toMatchObject({ owner: { name: 'acme' }, actor: 'ops', changes: { credits: 100 } });
    expect(updated).toMatchObject({ owner: { name: 'acme' }, changes: { owner: 'acme' } });
    // Gone by delivery time: its name only.
    expect(deleted).toEqual(expect.objectContaining({ owner: { name: 'acme' } }));
    expect(JSON.stringify(hook.received)).not.toContain(key);
    await dispatcher.tick();
    expect(await state()).toMatchObject({ delivered: 3, failed: 0 });
  });

  it('takes key.* and owner.* groups, and names them on an unknown event', async () => {
    const { run } = await fresh();
    const hook = await receiver();
    const added = await run(...adding(hook.url, 'key.*,owner.deleted'), '--json');
    expect(JSON.parse(added.stdout).events).toEqual([
      'key.created',
      'key.updated',
      'key.revoked',
      'key.rotated',
      'key.disabled',
      'key.enabled',
      'key.deleted',
      'key.leaked',
      'key.expiring',
      'owner.deleted',
    ]);
    const bad = await run(...adding(hook.url, 'nope.*'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown event "nope\.\*".*key\.\*, owner\.\*, usage\.\*, or \*/);
  });

  it('retries a receiver that is down with growing backoff, then delivers once it is back', async () => {
    let up = false;
    const { hook, manager, dispatcher, clock, state, outcomes } = await withReceiver('*', () =>
      up ? 200 : 503,
    );
    const first = await manager.create({ name: 'a' });
    await dispatcher.tick();
    expect(await state()).toMatchObject({ retrying: true, attempts: 1, lastError: 'HTTP 503' });
    // Before the backoff ends nothing is tried; after it, a second failure doubles it.
    clock.now += RETRY_BASE_MS - 10;
    await dispatcher.tick();
    expect(await state()).toMatchObject({ attempts: 1 });
    clock.now += 20;
    await dispatcher.tick();
    const second = await state();
    expect(second).toMatchObject({ attempts: 2 });
    expect(Date.parse(second.nextAttemptAt) - clock.now).toBe(2 * RETRY_BASE_MS);
    // Changes meanwhile wait their turn, in order.
    await manager.create({ name: 'b' });
    up = true;
    clock.now += 2 * RETRY_BASE_MS;
    await dispatcher.tick();
    expect(hook.received.map((r) => [r.event.type, (r.event.data.key as { name: string }).name])).toEqual([
      ['key.created', 'a'],
      ['key.created', 'b'],
    ]);
    expect(await state()).toMatchObject({ retrying: false, delivered: 2, failed: 0 });
    expect((hook.received[0]!.event.data.key as { id: string }).id).toBe(first.record.id);
    // What metrics count (keyward_webhook_deliveries_total): every attempt, by its end.
    expect(outcomes).toEqual(['retried', 'retried', 'delivered', 'delivered']);
  });

  it('gives up on an event after 24 hours of failures, counts it, and goes on', async () => {
    let up = false;
    const { hook, manager, dispatcher, clock, lines, state, outcomes } = await withReceiver(
      'key.created',
      () => (up ? 200 : 500),
    );
    await manager.create({ name: 'lost' });
    await dispatcher.tick();
    clock.now += 24 * 60 * 60 * 1000;
    await manager.create({ name: 'kept' });
    await dispatcher.tick();
    expect(lines.join('\n')).toMatch(/gave up on event msg_\d+ \(key.created\) after 24 h/);
    // The next event failed its first attempt in the same turn; it goes after its backoff.
    up = true;
    clock.now += RETRY_BASE_MS;
    await dispatcher.tick();
    expect(hook.received.map((r) => (r.event.data.key as { name: string }).name)).toEqual(['kept']);
    expect(await state()).toMatchObject({ delivered: 1, failed: 1 });
    expect(outcomes).toEqual(['retried', 'failed', 'retried', 'delivered']);
  });

  it('says once that delivery paused while the store fails, and once that it resumed', async () => {
    const { manager, lines } = await withReceiver('key.created');
    const store = manager.store as { readMeta: (name: string) => Promise<string | undefined> };
    const readMeta = store.readMeta.bind(manager.store);
    let failing = true;
    store.readMeta = (name) => (failing ? Promise.reject(new Error('database is locked')) : readMeta(name));
    const dispatcher = new WebhookDispatcher({ manager, allowPrivate: true, log: (l) => lines.push(l) });
    dispatcher.start();
    await new Promise((r) => setTimeout(r, 1200));
    failing = false;
    await new Promise((r) => setTimeout(r, 600));
    await dispatcher.stop();
    expect(lines).toEqual([
      'keyward: webhook delivery paused (database is locked)',
      'keyward: webhook delivery resumed',
    ]);
  });

  it('sends key.expiring once per key, from one hourly scan whichever instance runs it', async () => {
    const { db, hook, manager, dispatcher, clock } = await withReceiver('key.expiring');
    const b = new WebhookDispatcher({ manager: await open(db), allowPrivate: true, now: () => clock.now });
    const soon = await manager.create({ name: 'soon', expiresIn: '3d' });
    await manager.create({ name: 'later', expiresIn: '60d' });
    await Promise.all([dispatcher.tick(), b.tick()]);
    await Promise.all([dispatcher.tick(), b.tick()]);
    clock.now += EXPIRING_SCAN_MS;
    await Promise.all([dispatcher.tick(), b.tick()]);
    await Promise.all([dispatcher.tick(), b.tick()]);
    expect(hook.received.map((r) => r.event.type)).toEqual(['key.expiring']);
    expect(hook.received[0]!.event.data).toMatchObject({
      key: { id: soon.record.id },
      detail: { expiresAt: soon.record.expiresAt!.toISOString() },
    });
  });

  it('sends usage.threshold at 80 and 100 % once per period, from one scan whichever instance runs it', async () => {
    const { hook, manager, scan, spend, spendTen, sent } = await thresholdRig();
    const { key, record } = await manager.create({ name: 'metered', uses: 10 });
    await manager.create({ name: 'unlimited' });
    await spendTen(key);
    // New uses start a new period: 80 % of 5 is sent again, at its own total.
    await manager.update(record.id, { uses: 5 });
    await spend(key, 4);
    await scan();
    await scan();
    expect(sent(key)).toEqual([...TEN_SPENT, [80, 1, 5]]);
    expect(hook.received[0]!.event.data).toMatchObject({
      key: { id: record.id, name: 'metered' },
      actor: 'webhooks',
    });
  });

  it("sends usage.threshold for an owner's shared credits once per period, across two dispatchers", async () => {
    const { hook, manager, scan, spend, spendTen, sent } = await thresholdRig();
    await manager.createOwner({ name: 'acme', credits: 10 });
    await manager.createOwner({ name: 'free' }); // unlimited: never a notice
    const { key } = await manager.create({ name: 'of-acme', owner: 'acme' });
    const { key: other } = await manager.create({ name: 'of-free', owner: 'free' });
    await spend(other, 20);
    await spendTen(key);
    expect((await manager.check(key)).outcome).not.toBe('valid'); // the credits are spent
    // New credits start a new period: 80 and 100 % of 5 are sent again, at their own total.
    await manager.updateOwner('acme', { credits: 5 });
    await spend(key, 4);
    await scan();
    await spend(key, 1);
    await scan();
    await scan();
    expect(sent(key)).toEqual([...TEN_SPENT, [80, 1, 5], [100, 0, 5]]);
    for (const { event } of hook.received) {
      expect(event.data).toMatchObject({
        owner: { name: 'acme' },
        actor: 'webhooks',
        changes: { owner: 'acme' },
      });
      expect(event.data).not.toHaveProperty('key');
    }
    // The notices are owner entries in the audit log, one per threshold and period.
    const notices = (await manager.audit({ limit: 1000 })).filter((e) => e.action === 'threshold');
    expect(notices.map((e) => [e.keyId, e.detail?.threshold, e.detail?.period?.slice(0, 4)])).toEqual([
      [null, '100', 'set:'],
      [null, '80', 'set:'],
      [null, '100', 'set:'],
      [null, '80', 'set:'],
    ]);
    expect((await manager.getOwner('acme')).updatedAt).toEqual(
      (await manager.audit({ limit: 1000 })).find((e) => e.action === 'owner_update')!.at,
    );
  });

  it("sends an owner's usage.threshold again in each refill period", async () => {
    const { hook, clock, manager, scan, spend, sent } = await thresholdRig(Date.UTC(2026, 0, 10, 12));
    await manager.createOwner({ name: 'acme', credits: 10, refill: '10/day' });
    const { key } = await manager.create({ name: 'of-acme', owner: 'acme' });
    await spend(key, 8);
    await scan();
    await scan();
    expect(sent(key)).toEqual([[80, 2, 10]]);
    clock.now = Date.UTC(2026, 0, 11, 12); // the next day: refilled to 10
    await scan();
    await spend(key, 10);
    await scan();
    await scan();
    expect(sent(key)).toEqual([
      [80, 2, 10],
      [80, 0, 10],
      [100, 0, 10],
    ]);
    const periods = hook.received.map((r) => r.event.data.detail as Record<string, string>);
    // The first period is the credits set on creation (at noon, after that day's refill start).
    const created = (await manager.audit({ limit: 1000 })).find((e) => e.action === 'owner_create')!;
    expect(periods.map((d) => d.period)).toEqual([
      `set:${created.seq}`,
      'refill:2026-01-11T00:00:00.000Z',
      'refill:2026-01-11T00:00:00.000Z',
    ]);
  });

  it('two dispatchers on one store send each event exactly once', async () => {
    const { db, hook, manager, dispatcher: a } = await withReceiver('key.created');
    const other = await open(db);
    const b = new WebhookDispatcher({ manager: other, allowPrivate: true });
    for (let i = 0; i < 20; i++) {
      await (i % 2 ? manager : other).create({ name: `k${i}` });
      await Promise.all([a.tick(), b.tick(), a.tick()]);
    }
    await Promise.all([a.tick(), b.tick()]);
    await Promise.all([a.tick(), b.tick()]);
    const ids = hook.received.map((r) => r.id);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });
});
