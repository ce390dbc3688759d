// The admin dashboard in a real browser (Debian's chromium through playwright-core): sign
// in with a root key, create a key and read it from the dialog, call the public API with
// it, revoke it in the UI and see the public API refuse it; CSRF, session expiry, the
// cookie's flags, the CSP; a screenshot of each page in test-results/dashboard/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyManager } from '@keyward/keys';
import { createAdminApp, createDemoApp, listen, openKeyManager, type RunningServer } from '@keyward/server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../cli/run.js';
import { chromiumAvailable, launchChromium } from '../helpers/browser.js';
import { PEPPER } from '../keys/temp.js';

const available = chromiumAvailable();
const SHOTS = join(root, 'test-results', 'dashboard');

describe.skipIf(!available)('the admin dashboard in a real browser', () => {
  let browser: Browser;
  let manager: KeyManager;
  let publicApi: RunningServer;
  let admin: RunningServer;
  let shortAdmin: RunningServer;
  let rootKey: string;
  const dir = mkdtempSync(join(tmpdir(), 'keyward-dashboard-'));

  beforeAll(async () => {
    // The compiled dashboard, as `npm run build` (and so `npm ci`) makes it.
    execFileSync(process.execPath, [join(root, 'packages/server/dashboard/build.mjs')]);
    mkdirSync(SHOTS, { recursive: true });
    manager = await openKeyManager({
      database: join(dir, 'keys.db'),
      env: { KEYWARD_PEPPER: PEPPER },
      pollIntervalMs: 50,
    });
    rootKey = (await manager.create({ name: 'ops', scopes: ['keyward:*'] })).key;
    for (const name of ['acme', 'globex']) await manager.createOwner({ name });
    publicApi = await listen(
      createDemoApp({ verify: manager.verifier(), observe: manager.analytics.observe }),
      0,
      '127.0.0.1',
    );
    admin = await listen(createAdminApp({ manager }), 0, '127.0.0.1');
    shortAdmin = await listen(createAdminApp({ manager, sessions: { ttlMs: 1500 } }), 0, '127.0.0.1');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([publicApi?.close(), admin?.close(), shortAdmin?.close()]);
    await manager?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh browser context on an admin URL, collecting console errors and foreign requests. */
  async function open(base: string, viewport = { width: 1200, height: 800 }) {
    const context = await browser.newContext({ viewport });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) problems.push(`foreign request ${r.url()}`);
    });
    return { context, page, problems };
  }

  async function signIn(page: Page, base: string, key = rootKey) {
    await page.goto(`${base}/dashboard`);
    await page.getByLabel('Root key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  const publicStatus = async (key: string) =>
    (await fetch(`${publicApi.url}/secure-data`, { headers: { 'x-api-key': key } })).status;

  it('signs in, creates a key shown once, and revokes it so the public API refuses it', async () => {
    const { context, page, problems } = await open(admin.url);
    await page.goto(`${admin.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/sign-in');
    await page.screenshot({ path: join(SHOTS, 'sign-in.png') });
    await signIn(page, admin.url);
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    await page.getByRole('table').waitFor();
    await page.screenshot({ path: join(SHOTS, 'keys.png') });

    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create key' });
    await dialog.getByLabel('Name').fill('browser client');
    await dialog.getByLabel('Owner').fill('acme');
    await dialog.getByLabel('Scopes').fill('read');
    await dialog.getByLabel('Expires').selectOption('30d');
    await dialog.getByLabel('Rate limit').fill('100/1m');
    await page.screenshot({ path: join(SHOTS, 'create-key.png') });
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('shown once').waitFor();
    const key = await dialog.getByLabel('New key').inputValue();
    expect(key).toMatch(/^kw_/);
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByText('Copied').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await page.screenshot({ path: join(SHOTS, 'new-key.png') });
    await dialog.getByRole('button', { name: 'Done' }).click();

    expect(await publicStatus(key)).toBe(200);
    await manager.flush();

    await page.getByRole('link', { name: 'browser client' }).click();
    await page.getByRole('heading', { name: 'browser client' }).waitFor();
    const details = page.locator('dl.details');
    await expect.poll(() => details.textContent()).toContain('acme');
    expect(await details.textContent()).not.toMatch(/Last used\s*—/);
    // The usage chart shows the call made to the public API.
    const chart = page.getByRole('img', { name: /^Usage/ });
    await expect
      .poll(() => chart.getAttribute('aria-label'))
      .toBe('Usage over the last 24 hours: 1 valid, 0 refused');
    await page.getByRole('button', { name: '7 days' }).click();
    await expect
      .poll(() => chart.getAttribute('aria-label'))
      .toBe('Usage over the last 7 days: 1 valid, 0 refused');
    await page.getByRole('button', { name: '24 hours' }).click();
    await expect.poll(() => chart.getAttribute('aria-label')).toContain('24 hours');
    await page.screenshot({ path: join(SHOTS, 'key.png'), fullPage: true });

    await page.getByRole('button', { name: 'Revoke' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke this key?' });
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    const revokedAt = Date.now();
    await page.locator('.title-row .badge.revoked').waitFor();
    let status = await publicStatus(key);
    while (status !== 401 && Date.now() - revokedAt < 1000) status = await publicStatus(key);
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000);

    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit' }).waitFor();
    await page.locator('.timeline li').first().waitFor();
    expect(await page.locator('.timeline').textContent()).toContain('revoke');
    await page.screenshot({ path: join(SHOTS, 'audit.png') });

    // The key never reached the page again after the dialog closed.
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('table').waitFor();
    expect(await page.content()).not.toContain(key);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows owners, with their keys and shared usage', async () => {
    const { context, page, problems } = await open(admin.url);
    await signIn(page, admin.url);
    await page.getByRole('table').waitFor();
    await page.getByRole('link', { name: 'Owners' }).click();
    await page.getByRole('heading', { name: 'Owners' }).waitFor();
    await page.getByRole('link', { name: 'acme' }).click();
    await page.getByRole('heading', { name: 'acme' }).waitFor();
    const chart = page.getByRole('img', { name: /^Usage/ });
    await expect
      .poll(() => chart.getAttribute('aria-label'))
      .toMatch(/^Usage over the last 24 hours: \d+ valid/);
    await page.getByRole('link', { name: 'browser client' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'owner.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('works from the keyboard and at phone width', async () => {
    const { context, page, problems } = await open(admin.url, { width: 390, height: 844 });
    await signIn(page, admin.url);
    await page.getByRole('table').waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, 'keys-phone.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create key' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Create key' });
    await dialog.waitFor();
    await page.keyboard.type('typed by keyboard');
    expect(await dialog.getByLabel('Name').inputValue()).toBe('typed by keyboard');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('filters and searches the keys table', async () => {
    for (let i = 0; i < 3; i++) await manager.create({ name: `searchable ${i}`, owner: 'globex' });
    const { context, page } = await open(admin.url);
    await signIn(page, admin.url);
    await page.getByRole('table').waitFor();
    await page.getByLabel('Search').fill('searchable 1');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Owner').fill('globex');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(3);
    await page.getByLabel('Owner').fill('nobody-at-all');
    await page.getByText('No key matches these filters.').waitFor();
    await context.close();
  });

  it('sets the session cookie HttpOnly and SameSite=Strict (Secure behind TLS) and a strict CSP', async () => {
    const res = await fetch(`${admin.url}/dashboard/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: rootKey }),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/);
    expect(cookie).not.toContain(rootKey);
    const tls = await fetch(`${admin.url}/dashboard/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      body: new URLSearchParams({ key: rootKey }),
      redirect: 'manual',
    });
    expect(tls.headers.get('set-cookie')).toMatch(/Secure/);
    const pageRes = await fetch(`${admin.url}/dashboard`, { headers: { cookie: cookie.split(';')[0]! } });
    const csp = pageRes.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await pageRes.text()).not.toMatch(/<script>|style=/);
    // A wrong key, a key without root scopes, a cross-site form: no session.
    const ordinary = (await manager.create({ name: 'not root', scopes: ['read'] })).key;
    for (const key of ['kw_wrong_0123456789abcdefghijklmnopqrstu', ordinary]) {
      const bad = await fetch(`${admin.url}/dashboard/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key }),
        redirect: 'manual',
      });
      expect(bad.status).toBe(401);
      expect(bad.headers.get('set-cookie')).toBeNull();
      expect(await bad.text()).not.toContain(key);
    }
    const crossSite = await fetch(`${admin.url}/dashboard/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ key: rootKey }),
      redirect: 'manual',
    });
    expect(crossSite.status).toBe(403);
  });

  it('refuses every change made with the session cookie but without its CSRF token', async () => {
    const { context, page } = await open(admin.url);
    await signIn(page, admin.url);
    await page.getByRole('table').waitFor();
    const [cookie] = await context.cookies();
    const jar = `${cookie!.name}=${cookie!.value}`;
    const session = await (
      await fetch(`${admin.url}/dashboard/session`, { headers: { cookie: jar } })
    ).json();
    const post = (headers: Record<string, string>) =>
      fetch(`${admin.url}/v1/keys`, {
        method: 'POST',
        headers: { cookie: jar, 'content-type': 'application/json', ...headers },
        body: '{"name":"csrf probe"}',
      });
    const wrong: Record<string, string>[] = [
      {},
      { 'x-csrf-token': 'wrong' },
      { 'x-csrf-token': `${session.csrf}x` },
    ];
    for (const headers of wrong) {
      const res = await post(headers);
      expect(res.status).toBe(403);
      expect((await res.json()).code).toBe('csrf');
    }
    expect((await fetch(`${admin.url}/v1/keys?q=csrf%20probe`, { headers: { cookie: jar } })).status).toBe(
      200,
    );
    expect((await manager.list({ q: 'csrf probe' })).items).toEqual([]);
    const ok = await post({ 'x-csrf-token': session.csrf });
    expect(ok.status).toBe(201);
    expect(
      (await fetch(`${admin.url}/dashboard/sign-out`, { method: 'POST', headers: { cookie: jar } })).status,
    ).toBe(403);
    // Signing out ends the session for good.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Root key').waitFor();
    expect((await fetch(`${admin.url}/v1/keys`, { headers: { cookie: jar } })).status).toBe(401);
    await context.close();
  });

  it('sends the browser back to sign in once the session has expired', async () => {
    const { context, page } = await open(shortAdmin.url);
    await signIn(page, shortAdmin.url);
    await page.getByRole('table').waitFor();
    await new Promise((r) => setTimeout(r, 1700));
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByLabel('Root key').waitFor();
    expect(new URL(page.url()).pathname).toBe('/dashboard/sign-in');
    await context.close();
  });
});
