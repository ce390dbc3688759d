import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A dashboard sign-in: which root key, its CSRF token, until when. Never the key itself. */
export interface Session {
  readonly keyId: string;
  /** Sent back in `X-CSRF-Token` on every change (the synchronizer-token pattern). */
  readonly csrf: string;
  readonly expiresAt: number;
}

export interface SessionOptions {
  /** How long a sign-in lasts (default 8 hours). */
  ttlMs?: number;
  /** Most sessions kept; the oldest goes first (default 10,000). */
  max?: number;
  now?: () => number;
}

const token = () => randomBytes(32).toString('base64url');
// Sessions are found by a digest of their id: a memory dump or a timing probe of the map
// gives nothing a browser could present.
const digest = (id: string) => createHash('sha256').update(id).digest('base64url');

/**
 * The dashboard's sessions, in this process's memory (bounded). A restart signs everybody
 * out; several admin instances each keep their own (route a user to one).
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: SessionOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 8 * 3600_000;
    this.#max = options.max ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Opens a session for a root key; returns the id for the cookie and the session. */
  create(keyId: string): { id: string; session: Session } {
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(oldest);
    }
    const id = token();
    const session = Object.freeze({ keyId, csrf: token(), expiresAt: this.#now() + this.#ttlMs });
    this.#sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session with this id, if any; an expired one is dropped. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || id.length !== 43) return undefined;
    const key = digest(id);
    const session = this.#sessions.get(key);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(key);
      return undefined;
    }
    return session;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(digest(id));
  }
}

/** Compares a presented CSRF token with the session's in constant time. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
