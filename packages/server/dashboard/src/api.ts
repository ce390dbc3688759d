/** The dashboard's calls to the admin API: the session cookie, and the CSRF token on every change. */

export interface KeyRecord {
  id: string;
  name: string;
  owner: string | null;
  display: string;
  scopes: string[];
  metadata: Record<string, unknown>;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  enabled: boolean;
  lastUsedAt: string | null;
  useCount: number;
  remainingUses: number | null;
  rateLimit: { limit: number; windowSeconds: number } | null;
  replaces: string | null;
  replacedBy: string | null;
  status: 'active' | 'expired' | 'revoked' | 'disabled';
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  keyId: string | null;
  changes: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** An API refusal, with its problem `code` and a message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';

/** Reads the session (and its CSRF token); sends the browser to sign in when there is none. */
export async function loadSession(): Promise<{ keyId: string; expiresAt: string } | undefined> {
  const res = await fetch('/dashboard/session', { credentials: 'same-origin' });
  if (res.status === 401) {
    signInAgain();
    return undefined;
  }
  if (!res.ok) throw new ApiError(res.status, 'session', 'Could not read the session');
  const session = (await res.json()) as { keyId: string; csrf: string; expiresAt: string };
  csrf = session.csrf;
  return session;
}

export function signInAgain(): void {
  location.assign('/dashboard/sign-in');
}

/** Calls the admin API; a 401 (session over) sends the browser to sign in. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text === '' ? undefined : (JSON.parse(text) as unknown);
  if (res.status === 401) {
    signInAgain();
    throw new ApiError(401, 'unauthenticated', 'Your session is over: sign in again.');
  }
  if (!res.ok) {
    const problem = (data ?? {}) as { code?: string; detail?: string; title?: string };
    throw new ApiError(
      res.status,
      problem.code ?? 'error',
      problem.detail ?? problem.title ?? `HTTP ${res.status}`,
    );
  }
  return data as T;
}

export async function signOut(): Promise<void> {
  await fetch('/dashboard/sign-out', {
    method: 'POST',
    headers: { 'x-csrf-token': csrf },
    credentials: 'same-origin',
  });
  signInAgain();
}
