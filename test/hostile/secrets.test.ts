import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyManager } from '@keyward/server';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, requestLogger } from '../../packages/server/src/log/index.js';
import { createDemoApp, demoSchemes } from '../../packages/server/src/serve/app.js';
import { listen } from '../../packages/server/src/serve/serve.js';
import { httpRequest, rawRequest } from './raw.js';

// The whole demo flow against a real SQLite store, then a search of everything an
// operator keeps (every log line, every response, every file the store wrote, process
// warnings) for the plaintext keys in any encoding: zero hits.

const pctAll = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('');

/** Every form a key could be written in, plus every 12-character window (partial leaks). */
function forms(key: string): string[] {
  const out = new Set([
    key,
    encodeURIComponent(key),
    pctAll(key),
    pctAll(key).toLowerCase(),
    Buffer.from(key).toString('base64'),
    Buffer.from(key).toString('base64url'),
    Buffer.from(key).toString('hex'),
  ]);
  for (let i = 0; i + 12 <= key.length; i++) out.add(key.slice(i, i + 12));
  return [...out];
}

const dir = mkdtempSync(join(tmpdir(), 'keyward-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('secrets never leak', () => {
  it('leaves no plaintext key in logs, responses, the database files or warnings', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);

    const manager = await openKeyManager({
      database: join(dir, 'keys.db'),
      env: {},
      notice: (m) => warnings.push(m),
      pollIntervalMs: 0,
    });
    const lines: string[] = [];
    const logger = createLogger({
      schemes: [...demoSchemes],
      destination: { write: (l) => void lines.push(l) },
    });
    const app = new Hono();
    app.use(requestLogger(logger));
    // What a careless access log would write: the whole request, headers and URL.
    app.use(async (c, next) => {
      logger.info({
        req: { method: c.req.method, url: c.req.url, headers: Object.fromEntries(c.req.raw.headers) },
      });
      await next();
    });
    app.route('/', createDemoApp({ verify: manager.verifier() }));
    const server = await listen(app, 0, '127.0.0.1');

    const responses: string[] = [];
    const statuses: number[] = [];
    const send = async (target: string, ...headerLines: string[]) => {
      const res = await rawRequest(server.url, httpRequest('GET', target, headerLines));
      responses.push(res.head, res.body);
      statuses.push(res.status);
      return res.status;
    };
    const useEverywhere = async (key: string) => [
      await send('/secure-data', `X-API-Key: ${key}`),
      await send('/secure-data', `Cookie: X-API-KEY=${key}`),
      await send(`/secure-data?x-api-key=${key}`),
      await send(`/secure-data?x-api-key=${pctAll(key)}`),
      await send('/secure-data', `Cookie: X-API-KEY=${encodeURIComponent(key)}`),
    ];

    try {
      const reader = await manager.create({ name: 'reader', scopes: ['read'] });
      const admin = await manager.create({ name: 'admin', scopes: ['read', 'admin'] });
      expect(await useEverywhere(reader.key)).toEqual([200, 200, 200, 200, 200]);
      expect(await send('/admin-data', `X-API-Key: ${reader.key}`)).toBe(403);
      expect(await send('/admin-data', `X-API-Key: ${admin.key}`)).toBe(200);

      // Errors of every kind, each carrying a real key.
      const near = `${reader.key.slice(0, -1)}${reader.key.endsWith('A') ? 'B' : 'A'}`;
      expect(await send('/secure-data', `X-API-Key: ${near}`)).toBe(401);
      expect(await send('/secure-data', `X-API-Key: ${reader.key}`, `X-API-Key: ${admin.key}`)).toBe(400);
      expect(await send(`/secure-data?x-api-key=${reader.key}&x-api-key=${reader.key}`)).toBe(400);
      expect(await send('/secure-data', `Cookie: X-API-KEY=${reader.key}; X-API-KEY=${admin.key}`)).toBe(400);
      expect(await send('/secure-data', `X-API-Key: ${reader.key.repeat(7)}`)).toBe(401);
      expect(await send('/secure-data', `X-API-Key: \xa0${reader.key}`)).toBe(401);
      expect(await send(`/nope?x-api-key=${reader.key}#${reader.key}`)).toBe(404);
      expect(await send(`/health?x-api-key=${reader.key}`)).toBe(200);
      // The key in the path itself: the request log's path must not carry it.
      expect(await send(`/secure-data;x-api-key=${reader.key}`)).toBe(404);
      expect(await send(`/secure-data%3Fx-api-key=${reader.key}`)).toBe(404);
      expect(await send(`/secure-data/${reader.key}`)).toBe(404);
      expect(await send(`/${reader.key}`)).toBe(404);

      // Rotate with no grace: the old key dies, the new one works everywhere.
      const rotated = await manager.rotate(reader.record.id, { grace: 0 });
      expect(await send('/secure-data', `X-API-Key: ${reader.key}`)).toBe(401);
      expect(await useEverywhere(rotated.key)).toEqual([200, 200, 200, 200, 200]);

      // Revoke: the admin key stops at once.
      await manager.revoke(admin.record.id);
      expect(await send('/admin-data', `X-API-Key: ${admin.key}`)).toBe(401);
      expect(await send(`/admin-data?x-api-key=${admin.key}`)).toBe(401);

      await server.close();
      await manager.close();

      const files = readdirSync(dir).map((f) => ({
        name: f,
        text: readFileSync(join(dir, f)).toString('latin1'),
      }));
      expect(files.some((f) => f.name === 'keys.db')).toBe(true);
      const corpora: Record<string, string> = {
        logs: lines.join('\n'),
        responses: responses.join('\n'),
        warnings: warnings.join('\n'),
        ...Object.fromEntries(files.map((f) => [`file ${f.name}`, f.text])),
      };
      // The logs did record the flow: ids, places, statuses.
      expect(lines.length).toBe(2 * statuses.length);
      expect(corpora.logs).toContain(`"keyId":"${rotated.record.id}"`);
      expect(corpora.logs).toContain('"keyIn":"query"');
      for (const key of [reader.key, admin.key, rotated.key]) {
        for (const form of forms(key)) {
          for (const [where, text] of Object.entries(corpora)) {
            expect(
              text.includes(form),
              `${where} holds ${form === key ? 'a key' : `a form of a key: ${form}`}`,
            ).toBe(false);
          }
        }
      }
    } finally {
      process.off('warning', onWarning);
      await server.close();
      await manager.close();
    }
  });
});
