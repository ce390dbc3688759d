import { readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { type AdminAuth, SESSION_COOKIE } from './auth.js';
import { problem } from './problem.js';
import { csrfMatches } from './sessions.js';

/**
 * The dashboard's Content-Security-Policy: its own script and style only (no inline code,
 * no `unsafe-inline`, nothing from another origin), no frames, forms posting home only.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** The compiled dashboard (`npm run build` of @keyward/server), read once; `undefined` when not built. */
function loadAssets(): Map<string, Uint8Array> | undefined {
  const dir = new URL('../../dashboard/dist/', import.meta.url);
  try {
    return new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(new URL(name, dir))]));
  } catch {
    return undefined;
  }
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/assets/app.css">
</head>
<body>
${body}
</body>
</html>
`;
}

function signInPage(error?: string): string {
  return page(
    'Sign in · keyward',
    `<main class="sign-in">
<h1>keyward</h1>
<form method="post" action="/dashboard/sign-in" class="card">
<h2>Sign in</h2>
<p class="muted">Use a root key: a keyward key with <code>keyward:*</code> scopes (<code>keyward keys create --name ops --scopes 'keyward:*'</code>).</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<label for="key">Root key</label>
<input id="key" name="key" type="password" autocomplete="off" spellcheck="false" required autofocus>
<button type="submit">Sign in</button>
</form>
</main>`,
  );
}

const SHELL = page(
  'keyward dashboard',
  `<div id="app"><p class="loading" role="status">Loading…</p></div>
<script type="module" src="/dashboard/assets/app.js"></script>`,
);

function html(c: Context, body: string, status = 200): Response {
  return c.body(body, status as 200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': DASHBOARD_CSP,
    // Same-origin requests keep their Origin (checked at sign-in); nothing leaks elsewhere.
    'referrer-policy': 'same-origin',
  });
}

/** Whether the request came over TLS (directly or through a proxy that says so): cookies get `Secure`. */
function overTls(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

/**
 * Whether a form post comes from the dashboard itself (login CSRF): browsers say where a
 * request comes from in `Sec-Fetch-Site` and `Origin`. A request with neither (curl) passes.
 */
function sameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  if (origin === 'null') return site === 'same-origin';
  try {
    return new URL(origin).host === new URL(c.req.url).host;
  } catch {
    return false;
  }
}

/** Declares `/dashboard`: the sign-in form, the session, the compiled app. */
export function dashboardRoutes(app: Hono, auth: AdminAuth): void {
  const assets = loadAssets();
  const sessions = auth.sessions;

  app.get('/dashboard/assets/:name', (c) => {
    const name = c.req.param('name');
    const type = ASSETS[name];
    const body = type && assets?.get(name);
    if (!body) return problem('not_found');
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      'content-type': type,
      'cache-control': 'no-cache',
    });
  });

  app.get('/dashboard/sign-in', (c) => html(c, signInPage()));

  app.post('/dashboard/sign-in', async (c) => {
    if (!sameOrigin(c)) return problem('csrf');
    const type = c.req.header('content-type') ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded')) return problem('unsupported_media_type');
    const raw = await c.req.arrayBuffer();
    if (raw.byteLength > 4096) return problem('payload_too_large');
    const key = new URLSearchParams(new TextDecoder().decode(raw)).get('key')?.trim() ?? '';
    const signedIn = key === '' ? undefined : await auth.signIn(c, key);
    if (!signedIn) return html(c, signInPage('That is not a usable root key.'), 401);
    setCookie(c, SESSION_COOKIE, signedIn.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: overTls(c),
      path: '/',
      maxAge: Math.floor(sessions.ttlMs / 1000),
    });
    return c.redirect('/dashboard', 303);
  });

  app.post('/dashboard/sign-out', (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    const session = sessions.get(id);
    if (session && !csrfMatches(session, c.req.header('x-csrf-token'))) return problem('csrf');
    sessions.delete(id);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: overTls(c), httpOnly: true, sameSite: 'Strict' });
    return c.body(null, 204, { 'cache-control': 'no-store' });
  });

  app.get('/dashboard/session', (c) => {
    const session = sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) return problem('unauthenticated');
    return c.json(
      { keyId: session.keyId, csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() },
      200,
      { 'cache-control': 'no-store' },
    );
  });

  app.get('/dashboard', (c) => {
    if (!sessions.get(getCookie(c, SESSION_COOKIE))) return c.redirect('/dashboard/sign-in', 303);
    if (!assets) return problem('dashboard_not_built');
    return html(c, SHELL);
  });
}
