// What a FastAPI user looks for on the docs pages, in Debian's chromium (playwright-core):
// the Authorize dialog lists the header first and opens at its top, each scheme says what
// to paste and where (the cookie one that it cannot be tried here, with the curl line),
// operations name their scopes and document 401/403/429/503 with JSON bodies, and /redoc
// renders offline. Screenshots go to $KEYWARD_SHOTS_DIR when it is set.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../helpers/spawn.js';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'browser-pages-key-0123456789abcdefghij';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs it`);
const SHOTS = process.env.KEYWARD_SHOTS_DIR;
if (SHOTS) mkdirSync(SHOTS, { recursive: true });

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

describe.skipIf(!available)('the docs pages in a real browser', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServe>>;

  beforeAll(async () => {
    server = await startServe([], { KEYWARD_API_KEYS: KEY });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page that records requests leaving the app and content-security-policy violations. */
  async function open(path: string, viewport = { width: 1280, height: 800 }) {
    const page = await browser.newPage({ viewport });
    const foreign: string[] = [];
    const problems: string[] = [];
    // Requests answered from elsewhere: one the page's CSP blocks never leaves the browser.
    page.on('requestfinished', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
        foreign.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${server.url}${path}`);
    return { page, foreign, problems };
  }

  it('Authorize lists the header first, opens at its top on the header field, and describes every scheme', async () => {
    // A short window: the dialog is taller than the screen, as on a laptop.
    const { page, foreign } = await open('/docs', { width: 1100, height: 600 });
    await page.locator('.auth-wrapper button.authorize').click();
    const containers = page.locator('.modal-ux .auth-container');
    await containers.first().waitFor();
    await page.waitForTimeout(300);
    const titles = await containers.locator('h4').allTextContents();
    expect(titles.map((t) => t.trim().split(/\s/)[0])).toEqual([
      'APIKeyHeader',
      'APIKeyQuery',
      'APIKeyCookie',
    ]);
    // The dialog is scrolled to its top, and the header field has the focus.
    const scrolled = await page.evaluate(() => document.querySelector('.modal-ux-content')?.scrollTop ?? -1);
    expect(scrolled).toBe(0);
    const focused = await page.evaluate(
      () => document.activeElement?.closest('.auth-container')?.querySelector('h4')?.textContent ?? '',
    );
    expect(focused).toContain('APIKeyHeader');
    const headerBox = await containers.first().boundingBox();
    expect(headerBox!.y).toBeGreaterThanOrEqual(0);
    expect(headerBox!.y).toBeLessThan(600);
    await shot(page, '01-authorize-top');
    const text = await containers.allTextContents();
    expect(text[0]).toContain('Paste your API key here: it is sent in the X-API-Key header');
    expect(text[1]).toContain('prefer the header');
    expect(text[2]).toContain('Cannot be tried from this page');
    expect(text[2]).toContain("curl --cookie 'X-API-KEY=YOUR_KEY'");
    await containers.last().scrollIntoViewIfNeeded();
    await shot(page, '02-authorize-cookie');
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('each guarded operation names its scopes and shows 401, 403, 429 and 503 with their JSON bodies', async () => {
    const { page } = await open('/docs');
    const op = page.locator('#operations-default-get_admin_data');
    await op.locator('.opblock-summary').click();
    const description = op.locator('.opblock-description-wrapper').first();
    await description.waitFor();
    expect(await description.textContent()).toContain('Requires scope admin.');
    const codes = await op
      .locator('.responses-table tbody tr.response .response-col_status')
      .allTextContents();
    expect(codes.map((c) => c.trim())).toEqual(['200', '401', '403', '429', '503']);
    const forbidden = op.locator('.responses-table tbody tr.response[data-code="403"]');
    expect(await forbidden.textContent()).toContain('"detail": "Insufficient scope"');
    const unauthorized = op.locator('.responses-table tbody tr.response[data-code="401"]');
    expect(await unauthorized.textContent()).toContain('"detail": "Not authenticated"');
    await forbidden.scrollIntoViewIfNeeded();
    await shot(page, '03-admin-data-responses');
    const secure = page.locator('#operations-default-get_secure_data');
    await secure.locator('.opblock-summary').click();
    await secure.locator('.opblock-description-wrapper').first().waitFor();
    expect(await secure.locator('.opblock-description-wrapper').first().textContent()).toContain(
      'No scope is required.',
    );
    await page.close();
  });

  it('serves ReDoc at /redoc, offline, with the operations and their refusals', async () => {
    const { page, foreign, problems } = await open('/redoc');
    await page.getByText('keyward demo API').first().waitFor({ timeout: 20_000 });
    await page.getByText('Cannot be tried from this page').first().waitFor({ timeout: 20_000 });
    await page.getByText('Requires scope').first().waitFor();
    const body = (await page.locator('body').textContent()) ?? '';
    expect(body).toContain('APIKeyHeader');
    expect(body).toContain('Insufficient scope');
    await shot(page, '04-redoc');
    expect(foreign).toEqual([]);
    // The only thing the CSP refuses is ReDoc's attribution image from its CDN (hidden).
    expect(
      problems.filter((p) => /Content Security Policy|Refused/.test(p) && !p.includes('cdn.redoc.ly')),
    ).toEqual([]);
    expect(problems.filter((p) => !/cdn\.redoc\.ly/.test(p))).toEqual([]);
    await page.close();
  });
});
