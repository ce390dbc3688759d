import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deliver, isPrivateAddress, signWebhook } from './send.js';

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

async function receiver(
  handle: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
) {
  const server = createServer(handle);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('webhook sending', () => {
  it("signs as Standard Webhooks' published example does", () => {
    expect(
      signWebhook(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('tells private and loopback addresses from public ones', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      'nonsense',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])
      expect(isPrivateAddress(a), a).toBe(false);
  });

  it('judges IPv6 forms that embed IPv4 by that address, and refuses reserved ranges', () => {
    for (const a of [
      // Documentation and 6to4 relay ranges.
      '192.0.2.1',
      '198.51.100.7',
      '203.0.113.255',
      '192.88.99.1',
      // NAT64 (well-known and local-use prefixes) to internal IPv4.
      '64:ff9b::10.0.0.1',
      '64:ff9b::7f00:1',
      '64:ff9b:1::8.8.8.8',
      // 6to4 of an internal IPv4.
      '2002:7f00:1::',
      '2002:c0a8:101::1',
      // IPv4-compatible.
      '::127.0.0.1',
      '::7f00:1',
      '::a9fe:a9fe',
      // Mapped, written in hex.
      '::ffff:7f00:1',
      '::ffff:0a00:0001',
      // Site-local, discard-only, Teredo, documentation.
      'fec0::1',
      'feff::1',
      '100::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      '2001:db8::1',
      '2001:db8:ffff::',
      'fe80::1%eth0',
      '::',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['64:ff9b::8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '2001:4860:4860::8888'])
      expect(isPrivateAddress(a), a).toBe(false);
  });

  it('refuses receiver URLs whose IPv6 literal embeds a private IPv4 address, without connecting', async () => {
    const message = { id: 'msg_4', timestamp: 1, body: '{}' };
    for (const url of [
      'http://[::127.0.0.1]:9/',
      'http://[64:ff9b::a00:1]/',
      'https://[2002:a9fe:a9fe::]/',
    ]) {
      expect(await deliver(url, 'whsec_c2VjcmV0', message, false), url).toMatchObject({
        ok: false,
        status: 0,
        error: expect.stringMatching(/is a private address$/),
      });
    }
  });

  it('gives up at the deadline on a receiver that sends its answer a byte at a time', async () => {
    const timers: NodeJS.Timeout[] = [];
    const url = await receiver((req, res) => {
      req.resume();
      // Headers trickle in one byte per 50 ms: an idle timeout would never fire.
      const head = 'HTTP/1.1 204 No Content\r\nx-slow: ' + 'a'.repeat(200);
      let i = 0;
      const socket = res.socket!;
      const drip = setInterval(() => {
        if (socket.destroyed) return clearInterval(drip);
        socket.write(head[i++ % head.length]!);
      }, 50);
      timers.push(drip);
    });
    const started = performance.now();
    const result = await deliver(url, 'whsec_c2VjcmV0', { id: 'msg_3', timestamp: 1, body: '{}' }, true, 400);
    const took = performance.now() - started;
    for (const t of timers) clearInterval(t);
    expect(result).toEqual({ ok: false, status: 0, error: 'no answer within 0.4 s' });
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(1500);
  });

  it('posts the signed headers, and refuses private receivers unless allowed', async () => {
    const seen: Record<string, string | string[] | undefined>[] = [];
    const url = await receiver((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.writeHead(204).end();
    });
    const message = { id: 'msg_1', timestamp: 1700000000, body: '{"type":"key.created"}' };
    expect(await deliver(url, 'whsec_c2VjcmV0', message, false)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/private address/),
    });
    expect(
      await deliver(url.replace('127.0.0.1', 'localhost'), 'whsec_c2VjcmV0', message, false),
    ).toMatchObject({
      ok: false,
      error: expect.stringMatching(/private address/),
    });
    expect(seen).toHaveLength(0);
    expect(await deliver(url, 'whsec_c2VjcmV0', message, true)).toEqual({ ok: true, status: 204 });
    expect(seen[0]).toMatchObject({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': signWebhook('whsec_c2VjcmV0', 'msg_1', 1700000000, message.body),
      'content-type': 'application/json',
    });
  });

  it('does not follow redirects, and reports a receiver that is down', async () => {
    let followed = false;
    const target = await receiver((_req, res) => {
      followed = true;
      res.end();
    });
    const redirecting = await receiver((_req, res) => res.writeHead(307, { location: target }).end());
    const message = { id: 'msg_2', timestamp: 1, body: '{}' };
    expect(await deliver(redirecting, 'whsec_c2VjcmV0', message, true)).toEqual({
      ok: false,
      status: 307,
      error: 'HTTP 307 (redirects are not followed)',
    });
    expect(followed).toBe(false);
    const down = await receiver(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    expect(await deliver(down, 'whsec_c2VjcmV0', message, true)).toEqual({
      ok: false,
      status: 0,
      error: 'ECONNREFUSED',
    });
  });
});
