// owner.* and usage.threshold webhooks on PostgreSQL: two instances (managers and
// dispatchers) on one store, a local receiver; each event delivered once, signed, and
// never holding a key.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THRESHOLD_SCAN_MS, WebhookDispatcher } from '../../packages/server/src/webhooks/dispatcher.js';
import { addEndpoint, metaStore } from '../../packages/server/src/webhooks/registry.js';
import { PG_URL, requireService } from '../helpers/services.js';
import { isolatedDatabase, PEPPER } from '../scale/helpers.js';
import { cli } from './run.js';

const run = await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432));

interface Received {
  headers: Record<string, string>;
  body: string;
  event: { type: string; data: Record<string, unknown> };
}

describe.skipIf(!run)('owner and usage webhooks on PostgreSQL', () => {
  const db = isolatedDatabase(PG_URL, 'events');
  const received: Received[] = [];
  let server: Server;
  let admin: pg.Client;
  const managers: KeyManager[] = [];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const headers = Object.fromEntries(
          ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req.headers[h])]),
        );
        received.push({ headers, body, event: JSON.parse(body) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    expect((await cli(['init'], { KEYWARD_DATABASE_URL: db.url, KEYWARD_PEPPER: PEPPER })).code).toBe(0);
  });

  afterAll(async () => {
    await Promise.all(managers.map((m) => m.close()));
    await new Promise((r) => server?.close(r));
    await admin?.query(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`);
    await admin?.end();
  });

  it('sends owner events and usage thresholds once across two instances', async () => {
    const open = async () => {
      const m = await openKeyManager({ database: db.url, pepper: PEPPER, pollIntervalMs: 0 });
      managers.push(m);
      return m;
    };
    const [one, two] = [await open(), await open()];
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const { secret } = await addEndpoint(metaStore(one.store), url, [
      'owner.created',
      'owner.deleted',
      'usage.threshold',
    ]);
    const clock = { now: Date.now() };
    const dispatchers = [one, two].map(
      (manager) => new WebhookDispatcher({ manager, allowPrivate: true, now: () => clock.now }),
    );
    const both = async () => {
      clock.now += THRESHOLD_SCAN_MS;
      await Promise.all(dispatchers.map((d) => d.tick()));
      await Promise.all(dispatchers.map((d) => d.tick()));
    };

    await one.createOwner({ name: 'globex', credits: 1000 });
    await two.updateOwner('globex', { credits: 10 }); // not asked for
    const { key, record } = await one.create({ name: 'metered', owner: 'globex', uses: 5 });
    for (let i = 0; i < 4; i++) expect((await (i % 2 ? one : two).check(key)).outcome).toBe('valid');
    await both();
    await both();
    expect((await two.check(key)).outcome).toBe('valid');
    await both();
    await two.deleteOwner('globex', { force: true });
    await both();
    await both();

    expect(received.map((r) => [r.event.type, r.event.data.threshold ?? null])).toEqual([
      ['owner.created', null],
      ['usage.threshold', 80],
      ['usage.threshold', 100],
      ['owner.deleted', null],
    ]);
    expect(received[0]!.event.data).toMatchObject({ owner: { name: 'globex', credits: 10 } });
    expect(received[1]!.event.data).toMatchObject({ key: { id: record.id }, remaining: 1, total: 5 });
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(4);
    const mac = Buffer.from(secret.slice('whsec_'.length), 'base64');
    for (const r of received) {
      const signed = `${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`;
      const expected = `v1,${createHmac('sha256', mac).update(signed).digest('base64')}`;
      expect(r.headers['webhook-signature']).toBe(expected);
      expect(r.body).not.toContain(key);
    }
  });

  it("sends usage.threshold on an owner's shared credits once across two instances", async () => {
    received.length = 0;
    const [one, two] = await Promise.all(
      [0, 1].map(async () => {
        const m = await openKeyManager({ database: db.url, pepper: PEPPER, pollIntervalMs: 0 });
        managers.push(m);
        return m;
      }),
    );
    const clock = { now: Date.now() + 60 * THRESHOLD_SCAN_MS };
    const dispatchers = [one!, two!].map(
      (manager) => new WebhookDispatcher({ manager, allowPrivate: true, now: () => clock.now }),
    );
    const both = async () => {
      clock.now += THRESHOLD_SCAN_MS;
      await Promise.all(dispatchers.map((d) => d.tick()));
      await Promise.all(dispatchers.map((d) => d.tick()));
    };
    await one!.createOwner({ name: 'initech', credits: 5 });
    const { key } = await two!.create({ name: 'shared', owner: 'initech' });
    for (let i = 0; i < 4; i++) expect((await (i % 2 ? one! : two!).check(key)).outcome).toBe('valid');
    await both();
    await both();
    expect((await one!.check(key)).outcome).toBe('valid');
    await both();
    await both();
    const sent = received.filter((r) => r.event.type === 'usage.threshold').map((r) => r.event.data);
    expect(sent.map((d) => [d.threshold, d.remaining, d.total])).toEqual([
      [80, 1, 5],
      [100, 0, 5],
    ]);
    for (const d of sent) {
      expect(d).toMatchObject({ owner: { name: 'initech' }, actor: 'webhooks' });
      expect(d).not.toHaveProperty('key');
    }
    for (const r of received) expect(r.body).not.toContain(key);
  });
});
