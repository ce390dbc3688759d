import { apiKeyHeader, apiKeyQuery, KeywardConfigError } from 'keyward';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

const KEY = 'kw_LoggerTestKey0123456789abcdefghijkl';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

describe('createLogger', () => {
  const schemes = [apiKeyHeader({ name: 'X-Client-Key' }), apiKeyQuery({ name: 'key' })];

  it('redacts key headers, cookies and authorization wherever headers are logged', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ schemes, destination, redactHeaders: ['X-Proxy-Key'] });
    const headers = {
      'x-client-key': KEY,
      'X-Client-Key': KEY,
      cookie: `X-API-KEY=${KEY}`,
      'set-cookie': [`session=${KEY}`],
      authorization: `Bearer ${KEY}`,
      'proxy-authorization': `Basic ${KEY}`,
      'x-api-key': KEY,
      'x-proxy-key': KEY,
      accept: 'application/json',
    };
    logger.info({ headers }, 'top level');
    logger.info({ req: { method: 'GET', headers } }, 'request');
    logger.error({ err: { config: { headers } } }, 'client error');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).not.toContain(KEY);
      expect(line).toContain('"accept":"application/json"');
    }
    expect(JSON.parse(lines[1]!).req.headers['x-client-key']).toBe('[REDACTED]');
  });

  it('redacts the query of logged URLs and whole query objects', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ schemes, destination, keepQuery: ['page'] });
    logger.info({ req: { url: `/secure-data?page=2&key=${KEY}`, query: { key: KEY } } }, 'r');
    logger.info({ url: `/secure-data?${KEY}#${KEY}`, originalUrl: `/x?key=${encodeURIComponent(KEY)}` }, 'r');
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first.req).toEqual({ url: '/secure-data?page=2&[REDACTED]', query: '[REDACTED]' });
    expect(second.url).toBe('/secure-data?[REDACTED]');
    expect(second.originalUrl).toBe('/x?[REDACTED]');
  });

  it('refuses to keep the key parameter in URLs', () => {
    expect(() => createLogger({ schemes, keepQuery: ['key'] })).toThrow(KeywardConfigError);
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ destination, level: 'warn', name: 'keyward' });
    logger.info('hidden');
    logger.warn('shown');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ name: 'keyward', msg: 'shown' });
  });
});
