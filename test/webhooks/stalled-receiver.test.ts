// A receiver that never finishes its answer must not hold up the others: two dispatchers
// (two instances) on one SQLite store deliver to a stalling receiver and a healthy one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { KeyManager } from '@keyward/keys';
import { openKeyManager } from '@keyward/server';
import { afterAll, describe, expect, it } from 'vitest';
import { WebhookDispatcher } from '../../packages/server/src/webhooks/dispatcher.js';
import { addEndpoint, metaStore } from '../../packages/server/src/webhooks/registry.js';
import { PEPPER, tempDir } from '../keys/temp.js';

const dir = tempDir('keyward-stall-');
const servers: Server[] = [];
const managers: KeyManager[] = [];
afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await Promise.all(managers.map((m) => m.close()));
});

interface Receiver {
  url: string;
  /** Every request's webhook-id, in arrival order. */
  requests: string[];
  /** The ids answered 204, and when. */
  done: Map<string, number>;
  /** The most requests open at once. */
  peak: number;
}

/** A local receiver; while `stalls()` says so, it sends its headers a byte every 50 ms, never finishing. */
async function receiver(stalls: () => boolean): Promise<Receiver> {
  const r: Receiver = { url: '', requests: [], done: new Map(), peak: 0 };
  let open = 0;
  const server = createServer((req, res) => {
    const id = String(req.headers['webhook-id']);
    r.requests.push(id);
    open++;
    r.peak = Math.max(r.peak, open);
    res.socket!.once('close', () => open--);
    req.resume();
    if (!stalls()) {
      r.done.set(id, Date.now());
      res.writeHead(204).end();
      return;
    }
    const head = `HTTP/1.1 204 No Content\r\nx-slow: ${'a'.repeat(8000)}`;
    let i = 0;
    const socket = res.socket!;
    const drip = setInterval(() => {
      if (socket.destroyed) clearInterval(drip);
      else socket.write(head[i++ % head.length]!);
    }, 50);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  servers.push(server);
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}

async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('webhook delivery with a stalled receiver', () => {
  it('delivers to other receivers on time, cuts the stalled one off and retries it, never twice at once', async () => {
    const db = join(dir, 'stall.db');
    const open = async () => {
      const m = await openKeyManager({ database: db, pepper: PEPPER, pollIntervalMs: 0, flushIntervalMs: 0 });
      managers.push(m);
      return m;
    };
    const one = await open();
    const two = await open();
    let stalled = 0;
    // The first two requests stall; later ones are answered.
    const slow = await receiver(() => ++stalled <= 2);
    const fast = await receiver(() => false);
    // The stalling receiver is listed first, so a serial dispatcher would wait on it.
    await addEndpoint(metaStore(one.store), slow.url, ['key.created']);
    await addEndpoint(metaStore(one.store), fast.url, ['key.created']);
    const dispatchers = [one, two].map(
      (manager) => new WebhookDispatcher({ manager, allowPrivate: true, deliveryTimeoutMs: 600 }),
    );
    for (const d of dispatchers) d.start();
    try {
      const created: number[] = [];
      for (let i = 0; i < 3; i++) {
        await (i % 2 ? two : one).create({ name: `k${i}` });
        created.push(Date.now());
        await new Promise((r) => setTimeout(r, 300));
      }
      // The healthy receiver gets each event once, well within a second of its change,
      // while the other one is stalled.
      await until(() => fast.done.size === 3, 3000);
      expect(slow.done.size).toBe(0);
      // Message ids are the audit seqs of the three creations (the registrations came first).
      const [m1, m2, m3] = (await one.audit({ limit: 100 }))
        .filter((e) => e.action === 'create')
        .map((e) => `msg_${e.seq}`)
        .reverse();
      expect(fast.requests).toEqual([m1, m2, m3]);
      const late = [...fast.done.values()].map((at, i) => at - created[i]!);
      expect(Math.max(...late)).toBeLessThan(1000);

      // The stalled one is cut off at the deadline and retried with backoff (1 s, 2 s),
      // then gets every event, in order.
      await until(() => slow.done.size === 3, 10_000);
      expect([...slow.done.keys()]).toEqual([m1, m2, m3]);
      expect(slow.requests).toEqual([m1, m1, m1, m2, m3]);
      // Never two requests at once: no instance sent while another's delivery was open.
      expect(slow.peak).toBe(1);
      // Nothing more comes once all is delivered.
      await new Promise((r) => setTimeout(r, 1000));
      expect(slow.requests).toHaveLength(5);
      expect(fast.requests).toHaveLength(3);
    } finally {
      await Promise.all(dispatchers.map((d) => d.stop()));
    }
  }, 20_000);

  it('refuses a delivery deadline that could outlive the lease', async () => {
    const manager = await openKeyManager({
      database: join(dir, 'deadline.db'),
      pepper: PEPPER,
      pollIntervalMs: 0,
      flushIntervalMs: 0,
    });
    managers.push(manager);
    for (const deliveryTimeoutMs of [0, -1, 15_001, 30_000, Number.NaN]) {
      expect(() => new WebhookDispatcher({ manager, deliveryTimeoutMs }), String(deliveryTimeoutMs)).toThrow(
        RangeError,
      );
    }
    expect(() => new WebhookDispatcher({ manager, deliveryTimeoutMs: 15_000 })).not.toThrow();
  });
});
