import { Hono } from 'hono';
import { apiKeyCookie, apiKeyHeader, apiKeyQuery, createGuard } from 'keyward';
import { apiKeyAuth } from 'keyward/hono';
import { describe, expect, it } from 'vitest';
import { requestLogger } from './hono.js';
import { createLogger } from './logger.js';

const KEY = 'kw_RequestLogKey0123456789abcdefghijklm';

function setup(deprecated?: Date) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const schemes = [
    apiKeyHeader({ name: 'X-API-Key' }),
    apiKeyCookie({ name: 'X-API-KEY' }),
    apiKeyQuery({ name: 'x-api-key', deprecated }),
  ];
  const logger = createLogger({
    schemes,
    destination: {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line));
      },
    },
  });
  // The key store's records carry an id and a display fragment; the logger uses both.
  const guard = createGuard({
    schemes,
    verify: (key) => (key === KEY ? { id: 'key_01', display: 'kw_Requ…', scopes: [] } : null),
  });
  const app = new Hono();
  app.use(requestLogger(logger));
  app.get('/secure-data', apiKeyAuth(guard), (c) => c.json({ ok: true }));
  app.get('/boom', apiKeyAuth(guard), () => {
    throw new Error(`failed for ${KEY}`);
  });
  app.onError((_e, c) => c.json({ detail: 'Internal Server Error' }, 500));
  return { app, lines, raw };
}

describe('requestLogger (Hono)', () => {
  it('logs method, path, status, duration and the key id and display fragment, never the key', async () => {
    const { app, lines, raw } = setup();
    await app.request('/secure-data?page=1', { headers: { 'x-api-key': KEY } });
    await app.request('/secure-data', { headers: { cookie: `X-API-KEY=${KEY}` } });
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request',
      method: 'GET',
      path: '/secure-data',
      status: 200,
      keyId: 'key_01',
      keyDisplay: 'kw_Requ…',
      keyIn: 'header',
    });
    expect(typeof lines[0]!.durationMs).toBe('number');
    expect(lines[1]).toMatchObject({ keyIn: 'cookie', keyId: 'key_01' });
    expect(raw.join('')).not.toContain(KEY);
  });

  it('logs rejected requests without a principal', async () => {
    const { app, lines, raw } = setup();
    await app.request('/secure-data', { headers: { 'x-api-key': `${KEY}x` } });
    await app.request('/secure-data');
    expect(lines[0]).toMatchObject({ level: 30, status: 401, path: '/secure-data' });
    expect(lines[0]).not.toHaveProperty('keyId');
    expect(lines[0]).not.toHaveProperty('keyIn');
    expect(lines[1]).toMatchObject({ status: 401 });
    expect(raw.join('')).not.toContain(KEY);
  });

  it('warns when the key came in the query string, and says when that scheme is deprecated', async () => {
    const plain = setup();
    await plain.app.request(`/secure-data?x-api-key=${KEY}`);
    expect(plain.lines[0]).toMatchObject({ level: 40, keyIn: 'query', status: 200, path: '/secure-data' });
    expect(String(plain.lines[0]!.msg)).toMatch(/query string/);
    expect(plain.lines[0]).not.toHaveProperty('deprecated');

    const deprecated = setup(new Date('2025-01-01T00:00:00Z'));
    const res = await deprecated.app.request(`/secure-data?x-api-key=${KEY}`);
    expect(res.headers.get('deprecation')).toBe('@1735689600');
    expect(deprecated.lines[0]).toMatchObject({ level: 40, deprecated: true });
    expect(plain.raw.join('') + deprecated.raw.join('')).not.toContain(KEY);
  });

  it('never logs a key that came in the path: as a segment, a ; parameter or behind an encoded ?', async () => {
    const { app, lines, raw } = setup();
    const paths = {
      [`/nope?x-api-key=${KEY}`]: '/nope',
      [`/secure-data;x-api-key=${KEY}`]: '/secure-data;[REDACTED]',
      [`/secure-data%3Fx-api-key=${KEY}`]: '/secure-data?[REDACTED]',
      [`/secure-data%253Fx-api-key=${KEY}`]: '/secure-data?[REDACTED]',
      [`/${KEY}`]: '/[REDACTED]',
      [`/secure-data/${KEY}`]: '/secure-data/[REDACTED]',
      [`/secure-data/${encodeURIComponent(KEY).replace(/[A-Za-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`]:
        '/secure-data/[REDACTED]',
    };
    for (const path of Object.keys(paths)) await app.request(path);
    expect(lines.map((l) => l.path)).toEqual(Object.values(paths));
    expect(raw.join('')).not.toContain(KEY);
    expect(raw.join('')).not.toContain(KEY.slice(3, 20));
  });

  it('logs server errors at error level', async () => {
    const { app, lines, raw } = setup();
    const res = await app.request('/boom', { headers: { 'x-api-key': KEY } });
    expect(res.status).toBe(500);
    expect(lines[0]).toMatchObject({ level: 50, status: 500, path: '/boom', keyId: 'key_01' });
    expect(raw.join('')).not.toContain(KEY);
  });

  it('can be told how to describe a principal and to stay quiet about query keys', async () => {
    const { app } = setup();
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
    const outer = new Hono();
    outer.use(
      requestLogger<{ id: string }>(logger, {
        describe: (p) => ({ client: p.id.toUpperCase() }),
        warnQueryKeys: false,
      }),
    );
    outer.route('/', app);
    await outer.request(`/secure-data?x-api-key=${KEY}`);
    expect(lines[0]).toMatchObject({ level: 30, client: 'KEY_01', keyIn: 'query' });
  });
});
