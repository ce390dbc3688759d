// Node's `req.headers` keeps only the first line of some headers (Authorization,
// User-Agent, ...). A key header with one of those names, sent twice, must still be
// refused with 400 by every adapter, never resolved by Node picking the first line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceApps } from '../conformance/apps.js';
import { type ConformanceServer, KEYS } from '../conformance/fixture.js';
import { httpRequest, rawRequest } from './raw.js';
import { WRONG } from './suite.js';

const K = KEYS.good;

for (const header of ['Authorization', 'User-Agent']) {
  describe.each(conformanceApps.map((app) => ({ name: app.name, app })))(
    `a key in ${header}, which Node de-duplicates ($name)`,
    ({ app }) => {
      let server: ConformanceServer | undefined;
      beforeAll(async () => {
        server = await app.start({ header });
      });
      afterAll(async () => {
        await server?.close();
      });
      const status = async (...lines: string[]) =>
        (await rawRequest(server!.url, httpRequest('GET', '/secure-data', lines))).status;

      it('accepts the key sent once', async () => {
        expect(await status(`${header}: ${K}`)).toBe(200);
      });
      it('refuses the key line twice, valid first (400)', async () => {
        expect(await status(`${header}: ${K}`, `${header}: ${WRONG}`)).toBe(400);
      });
      it('refuses the key line twice, valid second (400)', async () => {
        expect(await status(`${header}: ${WRONG}`, `${header}: ${K}`)).toBe(400);
      });
      it('refuses two lines whose names differ only in case (400)', async () => {
        expect(await status(`${header.toLowerCase()}: ${K}`, `${header.toUpperCase()}: ${K}`)).toBe(400);
      });
    },
  );
}
