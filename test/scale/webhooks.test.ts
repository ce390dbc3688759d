// Webhooks from two `keyward serve` instances on one PostgreSQL: every change delivered
// exactly once, within 2 s, and again after the receiver was down for a while.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, requireService } from '../helpers/services.js';
import { startServe } from '../helpers/spawn.js';
import { cli, type Instance, isolatedDatabase, PEPPER, sleep } from './helpers.js';

const run = await requireService('PostgreSQL', Number(new URL(PG_URL).port || 5432));

describe.skipIf(!run)('webhooks from two instances on PostgreSQL', () => {
  const db = isolatedDatabase(PG_URL, 'hooks');
  const env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_PEPPER: PEPPER };
  let a: Instance;
  let b: Instance;
  let admin: pg.Client;
  let manager: KeyManager;
  let server: Server;
  let up = true;
  /** webhook-id → arrival times (ms, performance clock) and key name. */
  const received = new Map<string, { at: number[]; name: string }>();

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (!up) return void res.writeHead(503).end();
        const id = String(req.headers['webhook-id']);
        const name = (JSON.parse(body) as { data: { key: { name: string } } }).data.key.name;
        const seen = received.get(id) ?? { at: [], name };
        seen.at.push(performance.now());
        received.set(id, seen);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    // Only init, keys create and keys import create a store; webhooks add needs one.
    expect((await cli(['init'], env)).code).toBe(0);
    const added = await cli(
      ['webhooks', 'add', '--url', url, '--events', 'key.created', '--allow-private-webhooks'],
      env,
    );
    expect(added.code).toBe(0);
    manager = await openKeyManager({ database: db.url, pepper: PEPPER, pollIntervalMs: 0 });
    const args = ['--allow-private-webhooks', '--log-level', 'silent'];
    [a, b] = await Promise.all([startServe(args, env), startServe(args, env)]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await manager?.close();
    await new Promise((r) => server?.close(r));
    await admin?.query(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`);
    await admin?.end();
  });

  const until = async (done: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await sleep(20);
  };

  it('delivers each change exactly once, within 2 s (p99 of 30)', async () => {
    const created: { name: string; at: number }[] = [];
    for (let i = 0; i < 30; i++) {
      const name = `k${i}`;
      created.push({ name, at: performance.now() });
      await manager.create({ name });
      await sleep(30);
    }
    await until(() => [...received.values()].filter((r) => r.name.startsWith('k')).length >= 30, 10_000);
    const byName = new Map([...received.values()].map((r) => [r.name, r]));
    const delays = created.map((c) => byName.get(c.name)!.at[0]! - c.at).sort((x, y) => x - y);
    const p99 = delays[Math.ceil(delays.length * 0.99) - 1]!;
    console.log(
      `webhooks: change to delivery p50 ${delays[15]!.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (n=30, two instances)`,
    );
    expect(p99).toBeLessThan(2000);
    await sleep(500);
    for (const c of created) expect(byName.get(c.name)!.at).toHaveLength(1);
  });

  it('delivers what changed while the receiver was down once it is back, each once', async () => {
    up = false;
    for (let i = 0; i < 5; i++) await manager.create({ name: `down${i}` });
    await sleep(1500);
    expect([...received.values()].some((r) => r.name.startsWith('down'))).toBe(false);
    up = true;
    await until(() => [...received.values()].filter((r) => r.name.startsWith('down')).length >= 5, 10_000);
    await sleep(500);
    const down = [...received.values()].filter((r) => r.name.startsWith('down'));
    expect(down.map((r) => r.name)).toEqual(['down0', 'down1', 'down2', 'down3', 'down4']);
    for (const r of down) expect(r.at).toHaveLength(1);
    const list = await cli(['webhooks', 'list', '--json'], env);
    expect(JSON.parse(list.stdout).webhooks[0]).toMatchObject({ delivered: 35, failed: 0, retrying: false });
  });
});
