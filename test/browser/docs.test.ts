// A person's view of /docs: Debian's chromium (driven by playwright-core) opens the docs
// page of the running demo, authorizes with a key through the Authorize button, calls
// /secure-data from the page and sees 200; without a key, 401.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { startServe } from '../helpers/spawn.js';

const KEY = 'browser-test-key-0123456789abcdefghij';
const available = chromiumAvailable();

describe.skipIf(!available)('the /docs page in a real browser', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServe>>;

  beforeAll(async () => {
    server = await startServe([], { KEYWARD_API_KEYS: KEY });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function callSecureData(page: Page): Promise<string> {
    const op = page.locator('#operations-default-get_secure_data');
    await op.locator('.opblock-summary').click();
    await op.locator('button.try-out__btn').click();
    await op.locator('button.execute').click();
    const status = op.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor();
    return (await status.innerText()).trim();
  }

  it('loads without internet access: every request goes to the app itself', async () => {
    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url)) foreign.push(r.url());
    });
    await page.goto(`${server.url}/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();
    expect(await page.locator('.swagger-ui .info .title').innerText()).toContain('keyward demo API');
    expect(await page.locator('button.authorize').count()).toBeGreaterThan(0);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('without a key, "Try it out" on /secure-data gets 401', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/docs`);
    expect(await callSecureData(page)).toBe('401');
    await page.close();
  });

  it('after Authorize with the header key, "Try it out" on /secure-data gets 200', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/docs`);
    await page.locator('.auth-wrapper button.authorize').click();
    const section = page.locator('.modal-ux .auth-container', { hasText: 'APIKeyHeader' });
    await section.locator('input').fill(KEY);
    await section.locator('button.authorize').click();
    await page.locator('.modal-ux button.close-modal').click();
    expect(await callSecureData(page)).toBe('200');
    const body = await page
      .locator(
        '#operations-default-get_secure_data .live-responses-table tbody .response-col_description pre',
      )
      .first()
      .innerText();
    expect(body).toContain('You have access to secure data');
    await page.close();
  });
});
