// SIGTERM against a real `keyward serve` with a slow request in flight (a client that
// sends its request head in two parts): no new connection is accepted, the request in
// flight is answered, use counts and the request log are flushed, the exit code is 0;
// a request that does not finish in --shutdown-timeout has its connection cut.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { openKeyManager } from '@keyward/server';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/spawn.js';
import { tempDir } from '../keys/temp.js';
import { PEPPER } from './helpers.js';

const dir = tempDir('keyward-shutdown-');

async function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Everything the server sends until it closes the connection. */
const received = (socket: Socket) =>
  new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('close', () => resolve(text));
    socket.on('error', () => {});
  });

async function start(db: string, ...args: string[]) {
  const cli = runCli(['serve', '--port', '0', '--db', db, ...args], { KEYWARD_PEPPER: PEPPER });
  const [, url] = await cli.waitFor(/listening on (http:\/\/\S+)/);
  await cli.waitFor(/^Configuration: /m);
  return { cli, url: url! };
}

describe('serve on SIGTERM', () => {
  it('stops accepting, answers the request in flight, flushes use counts and the log, exits 0', async () => {
    const db = join(dir, 'drain.db');
    const manager = await openKeyManager({ database: db, pepper: PEPPER, pollIntervalMs: 0 });
    const { key, record } = await manager.create({ name: 'slow' });
    await manager.close();
    const { cli, url } = await start(db, '--usage-flush', '1h');
    expect((await fetch(`${url}/secure-data`, { headers: { 'X-API-Key': key } })).status).toBe(200);

    const socket = await openSocket(url);
    const answer = received(socket);
    socket.write(`GET /secure-data HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${key}\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    cli.child.kill('SIGTERM');
    await cli.waitFor(/SIGTERM: not accepting connections/);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 300));
    expect(cli.child.exitCode).toBe(null); // still draining
    socket.write('\r\n');
    const response = await answer;
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response).toContain('You have access to secure data');
    expect(await cli.exited()).toBe(0);
    expect(cli.stderr()).toMatch(/keyward: stopped; use counts and the request log are flushed/);
    const log = cli
      .stdout()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
    expect(log.filter((l) => l.msg === 'request' && l.keyId === record.id && l.status === 200)).toHaveLength(
      2,
    );
    const after = await openKeyManager({ database: db, pepper: PEPPER, pollIntervalMs: 0 });
    try {
      // --usage-flush 1h: both uses were written by the shutdown.
      expect((await after.get(record.id)).useCount).toBe(2);
    } finally {
      await after.close();
    }
  });

  it('cuts what is still in flight after --shutdown-timeout, and still exits 0', async () => {
    const db = join(dir, 'cut.db');
    const { cli, url } = await start(db, '--shutdown-timeout', '1s');
    const socket = await openSocket(url);
    const closed = received(socket);
    socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const signalled = performance.now();
    cli.child.kill('SIGTERM');
    expect(await cli.exited()).toBe(0);
    const took = performance.now() - signalled;
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(5000);
    expect(await closed).toBe('');
    expect(cli.stderr()).toMatch(/keyward: stopped; 1 connection\(s\) still busy after 1s were closed/);
  });
});
