// `keyward serve` answers POST /v1/keys/verify on node:http, before the Hono app: every
// answer must be the Hono route's, byte for byte (status, headers, body).
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createAdminApp, listen, openKeyManager, type RunningServer } from '@keyward/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, spawnCli } from '../cli/run.js';
import { PEPPER, tempDir } from '../keys/temp.js';

const dir = tempDir('keyward-admin-verify-node-');
const database = join(dir, 'keyward.db');
const env = { KEYWARD_PEPPER: PEPPER };
let serve: Child;
let servedUrl: string;
let hono: RunningServer;
let closeManager: () => Promise<void>;
const keys = { root: '', reader: '', writer: '', valid: '', revoked: '' };

beforeAll(async () => {
  const manager = await openKeyManager({ database, env });
  keys.root = (await manager.create({ name: 'ops', scopes: ['keyward:*'] })).key;
  keys.reader = (await manager.create({ name: 'reader', scopes: ['keyward:keys:read'] })).key;
  keys.writer = (await manager.create({ name: 'writer', scopes: ['keyward:keys:write'] })).key;
  keys.valid = (await manager.create({ name: 'valid', scopes: ['read'] })).key;
  const revoked = await manager.create({ name: 'revoked' });
  await manager.revoke(revoked.record.id);
  keys.revoked = revoked.key;
  // The Hono route alone, as createAdminApp serves it without the node:http route.
  hono = await listen(createAdminApp({ manager }), 0, '127.0.0.1');
  closeManager = () => manager.close();
  serve = spawnCli(['serve', '--port', '0', '--db', database], env);
  [, servedUrl] = (await serve.waitFor(/admin API listening on (http:\/\/\S+)/)) as [string, string];
}, 30_000);
afterAll(async () => {
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
  await hono?.close();
  await closeManager?.();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw request: headers as [name, value] lines, repeated lines kept. */
function send(
  base: string,
  path: string,
  lines: [string, string][],
  body?: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: [['host', url.host], ...lines].flat(),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...headers } = res.headers;
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const json = (text: string): [string, string][] => [
  ['content-type', 'application/json'],
  ['content-length', String(Buffer.byteLength(text))],
];

describe('keyward serve: POST /v1/keys/verify on node:http', () => {
  const body = (key: string, scopes?: string[]) => JSON.stringify(scopes ? { key, scopes } : { key });
  const cases: Array<[string, string, () => [string, string][], () => string | Buffer | undefined]> = [
    [
      'valid',
      '/v1/keys/verify',
      () => [['authorization', `Bearer ${keys.root}`], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
    [
      'valid, X-API-Key, query',
      '/v1/keys/verify?x=1',
      () => [['x-api-key', keys.reader], ...json(body(keys.valid, ['read']))],
      () => body(keys.valid, ['read']),
    ],
    [
      'scope not held',
      '/v1/keys/verify',
      () => [['x-api-key', keys.root], ...json(body(keys.valid, ['admin']))],
      () => body(keys.valid, ['admin']),
    ],
    [
      'invalid',
      '/v1/keys/verify',
      () => [['x-api-key', keys.root], ...json(body('kw_wrong_0123456789abcdefghijklmnopqrstu'))],
      () => body('kw_wrong_0123456789abcdefghijklmnopqrstu'),
    ],
    [
      'revoked',
      '/v1/keys/verify',
      () => [['x-api-key', keys.root], ...json(body(keys.revoked))],
      () => body(keys.revoked),
    ],
    ['no key', '/v1/keys/verify', () => json(body(keys.valid)), () => body(keys.valid)],
    [
      'wrong key',
      '/v1/keys/verify',
      () => [['authorization', 'Bearer kw_wrong_0123456789abcdefghijklmnopqrstu'], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
    [
      'malformed key header',
      '/v1/keys/verify',
      () => [['authorization', 'Basic abc'], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
    [
      'root key without keys:read',
      '/v1/keys/verify',
      () => [['x-api-key', keys.writer], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
    [
      'not a root key',
      '/v1/keys/verify',
      () => [['x-api-key', keys.valid], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
    [
      'two Authorization lines',
      '/v1/keys/verify',
      () => [
        ['authorization', `Bearer ${keys.root}`],
        ['authorization', `Bearer ${keys.root}`],
        ...json(body(keys.valid)),
      ],
      () => body(keys.valid),
    ],
    [
      'two X-API-Key lines',
      '/v1/keys/verify',
      () => [['x-api-key', keys.root], ['x-api-key', keys.root], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
    [
      'Bearer and X-API-Key',
      '/v1/keys/verify',
      () => [['authorization', `Bearer ${keys.root}`], ['x-api-key', keys.root], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
    ['bad JSON', '/v1/keys/verify', () => [['x-api-key', keys.root], ...json('{"key":')], () => '{"key":'],
    ['JSON array', '/v1/keys/verify', () => [['x-api-key', keys.root], ...json('[1]')], () => '[1]'],
    [
      'not UTF-8',
      '/v1/keys/verify',
      () => [
        ['x-api-key', keys.root],
        ['content-type', 'application/json'],
        ['content-length', '4'],
      ],
      () => Buffer.from([0x22, 0xff, 0xfe, 0x22]),
    ],
    [
      'key not a string',
      '/v1/keys/verify',
      () => [['x-api-key', keys.root], ...json('{"key":5}')],
      () => '{"key":5}',
    ],
    [
      'scopes not strings',
      '/v1/keys/verify',
      () => [['x-api-key', keys.root], ...json('{"key":"x","scopes":[1]}')],
      () => '{"key":"x","scopes":[1]}',
    ],
    [
      'unknown field',
      '/v1/keys/verify',
      () => [['x-api-key', keys.root], ...json('{"key":"x","name":"n"}')],
      () => '{"key":"x","name":"n"}',
    ],
    [
      'wrong content type',
      '/v1/keys/verify',
      () => [
        ['x-api-key', keys.root],
        ['content-type', 'text/plain'],
        ['content-length', '2'],
      ],
      () => '{}',
    ],
    [
      'no content type',
      '/v1/keys/verify',
      () => [
        ['x-api-key', keys.root],
        ['content-length', '2'],
      ],
      () => '{}',
    ],
    [
      'two content types',
      '/v1/keys/verify',
      () => [
        ['x-api-key', keys.root],
        ['content-type', 'application/json'],
        ['content-type', 'application/json'],
        ['content-length', '2'],
      ],
      () => '{}',
    ],
    [
      'declared too large',
      '/v1/keys/verify',
      () => [['x-api-key', keys.root], ...json('x'.repeat(70_000))],
      () => 'x'.repeat(70_000),
    ],
    [
      'declared too large, no key',
      '/v1/keys/verify',
      () => json('x'.repeat(70_000)),
      () => 'x'.repeat(70_000),
    ],
    [
      'streamed too large',
      '/v1/keys/verify',
      () => [
        ['x-api-key', keys.root],
        ['content-type', 'application/json'],
        ['transfer-encoding', 'chunked'],
      ],
      () => 'x'.repeat(70_000),
    ],
    [
      'streamed, fits',
      '/v1/keys/verify',
      () => [
        ['x-api-key', keys.root],
        ['content-type', 'application/json'],
        ['transfer-encoding', 'chunked'],
      ],
      () => body(keys.valid),
    ],
    [
      'Idempotency-Key is not replayed',
      '/v1/keys/verify',
      () => [['x-api-key', keys.root], ['idempotency-key', 'once'], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
  ];

  cases.push(
    // The dashboard's way in: Hono's, on both listeners.
    [
      'session cookie, no key header',
      '/v1/keys/verify',
      () => [['cookie', 'keyward_admin=unknown'], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
    [
      'session cookie and a key header',
      '/v1/keys/verify',
      () => [['cookie', 'keyward_admin=unknown'], ['x-api-key', keys.root], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
    [
      'another path',
      '/v1/keys/verify/',
      () => [['x-api-key', keys.root], ...json(body(keys.valid))],
      () => body(keys.valid),
    ],
  );

  it.each(cases)('%s: the same answer as the Hono route', async (_name, path, lines, payload) => {
    const fromHono = await send(hono.url, path, lines(), payload());
    const fromServe = await send(servedUrl, path, lines(), payload());
    // serve's access log gives every answer a request id; the bare Hono listener has none.
    const { 'x-request-id': requestId, ...headers } = fromServe.headers;
    expect(requestId).toMatch(/^\S+$/);
    expect({ ...fromServe, headers }).toEqual(fromHono);
    expect(fromServe.headers['x-content-type-options']).toBe('nosniff');
    expect(fromServe.headers['x-frame-options']).toBe('DENY');
    expect(fromServe.headers['referrer-policy']).toBe('no-referrer');
  });

  it('answers the verify outcomes and refusals it should', async () => {
    const ok = await send(
      servedUrl,
      '/v1/keys/verify',
      [['x-api-key', keys.root], ...json(body(keys.valid))],
      body(keys.valid),
    );
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ valid: true, scopes: ['read'], credits: null });
    const revoked = await send(
      servedUrl,
      '/v1/keys/verify',
      [['x-api-key', keys.root], ...json(body(keys.revoked))],
      body(keys.revoked),
    );
    expect(JSON.parse(revoked.body)).toEqual({ valid: false, code: 'revoked' });
    const missing = await send(servedUrl, '/v1/keys/verify', json(body(keys.valid)), body(keys.valid));
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBeDefined();
    const scope = await send(
      servedUrl,
      '/v1/keys/verify',
      [['x-api-key', keys.writer], ...json(body(keys.valid))],
      body(keys.valid),
    );
    expect(scope.status).toBe(403);
    const twice = await send(
      servedUrl,
      '/v1/keys/verify',
      [
        ['authorization', `Bearer ${keys.root}`],
        ['authorization', `Bearer ${keys.root}`],
        ...json(body(keys.valid)),
      ],
      body(keys.valid),
    );
    expect(twice.status).toBe(400); // a key sent twice is refused as the guard refuses it
    const large = await send(servedUrl, '/v1/keys/verify', json('x'.repeat(70_000)), 'x'.repeat(70_000));
    expect([large.status, JSON.parse(large.body).code]).toEqual([413, 'payload_too_large']);
    const type = await send(
      servedUrl,
      '/v1/keys/verify',
      [
        ['x-api-key', keys.root],
        ['content-type', 'text/plain'],
        ['content-length', '2'],
      ],
      '{}',
    );
    expect([type.status, JSON.parse(type.body).code]).toEqual([415, 'unsupported_media_type']);
    const bad = await send(servedUrl, '/v1/keys/verify', [['x-api-key', keys.root], ...json('{')], '{');
    expect([bad.status, JSON.parse(bad.body).code]).toEqual([400, 'invalid_json']);
  });

  it('refuses a request without a key before reading its body, which it never holds', async () => {
    const url = new URL(servedUrl);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((done) => socket.once('connect', done));
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    // A body of 60,000 bytes declared, one byte sent: the answer must not wait for the rest.
    socket.write(
      `POST /v1/keys/verify HTTP/1.1\r\nhost: ${url.host}\r\n` +
        'content-type: application/json\r\ncontent-length: 60000\r\n\r\n{',
    );
    const deadline = Date.now() + 2000;
    while (!received.includes('\r\n\r\n') && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 20));
    }
    socket.destroy();
    expect(received).toMatch(/^HTTP\/1\.1 401 /);
    expect(received.toLowerCase()).toContain('www-authenticate: bearer, apikey');
  });

  it('drops a request whose client leaves mid-body, quietly, and answers the next', async () => {
    const url = new URL(servedUrl);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((done) => socket.once('connect', done));
    socket.write(
      `POST /v1/keys/verify HTTP/1.1\r\nhost: ${url.host}\r\nx-api-key: ${keys.root}\r\n` +
        'content-type: application/json\r\ncontent-length: 100\r\n\r\n{"key":',
    );
    await new Promise((done) => setTimeout(done, 100));
    socket.destroy();
    await new Promise((done) => setTimeout(done, 200));
    const after = await send(
      servedUrl,
      '/v1/keys/verify',
      [['x-api-key', keys.root], ...json(body(keys.valid))],
      body(keys.valid),
    );
    expect(after.status).toBe(200);
    expect(serve.output().stderr).not.toMatch(/unhandled|Warning/);
  });
});
