import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { KeywardConfigError } from 'keyward';
import { boundedBody } from './request-body.js';

/** Where GitHub publishes the keys it signs secret scanning alerts with. */
export const GITHUB_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** Largest key document read (GitHub's is about 1 KiB). */
const MAX_DOCUMENT_BYTES = 256 * 1024;
/** How long a fetched key list is used before it is fetched again (in the background). */
export const KEYS_TTL_MS = 60 * 60 * 1000;
/** How long a fetch may take. */
export const FETCH_TIMEOUT_MS = 5000;
/** Least time between two fetches caused by unknown identifiers: made-up ids cost GitHub nothing. */
export const REFETCH_INTERVAL_MS = 60 * 1000;

/** A key identifier as GitHub writes them (hex), bounded so that a header cannot be huge. */
const IDENTIFIER = /^[A-Za-z0-9_.:+/=-]{1,256}$/;

export interface GithubKeyOptions {
  /** A file path, or an http(s) URL (plain http only for loopback). */
  readonly source: string;
  /** Fetch, for tests. */
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** Told about failed fetches and reloads (never a key). */
  readonly log?: (line: string) => void;
}

/**
 * GitHub's secret scanning public keys, from the document GitHub publishes:
 * `{"public_keys":[{"key_identifier","key","is_current"}]}`. Only ECDSA P-256 keys are
 * kept. Throws KeywardConfigError when the document holds none.
 */
export function parseGithubKeys(text: string): Map<string, KeyObject> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KeywardConfigError('GitHub scanning keys: not JSON');
  }
  const list = (doc as { public_keys?: unknown } | null)?.public_keys;
  if (!Array.isArray(list)) throw new KeywardConfigError('GitHub scanning keys: no "public_keys" array');
  const keys = new Map<string, KeyObject>();
  for (const item of list as unknown[]) {
    const { key_identifier: id, key: pem } = (item ?? {}) as { key_identifier?: unknown; key?: unknown };
    if (typeof id !== 'string' || !IDENTIFIER.test(id) || typeof pem !== 'string') continue;
    try {
      const key = createPublicKey(pem);
      if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
        keys.set(id, key);
      }
    } catch {
      // Not a public key: skipped, like a key of another type.
    }
  }
  if (keys.size === 0) {
    throw new KeywardConfigError('GitHub scanning keys: no ECDSA P-256 public key in "public_keys"');
  }
  return keys;
}

function checkUrl(source: string): URL | undefined {
  if (!/^https?:\/\//i.test(source)) return undefined;
  const url = new URL(source);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !loopback) {
    throw new KeywardConfigError('--github-scanning-keys: a URL must be https (plain http only on loopback)');
  }
  return url;
}

/**
 * GitHub's public keys, by identifier: read from a file at start, or fetched from a URL
 * (timeout 5 s, kept 1 hour, refreshed in the background, and fetched again at most once
 * a minute when a request names an identifier not in the list: GitHub rotates keys).
 */
export class GithubKeys {
  readonly #url: URL | undefined;
  readonly #path: string;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  #keys = new Map<string, KeyObject>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #triedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;

  private constructor(options: GithubKeyOptions) {
    this.#url = checkUrl(options.source);
    this.#path = options.source;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
  }

  /**
   * Loads the keys. A file must be readable and hold keys (else KeywardConfigError: the
   * server does not start). A URL that cannot be fetched now is logged and tried again
   * on the first request: until then the endpoint answers 503.
   */
  static async open(options: GithubKeyOptions): Promise<GithubKeys> {
    const keys = new GithubKeys(options);
    if (keys.#url === undefined) {
      let text: string;
      try {
        text = await readFile(keys.#path, 'utf8');
      } catch (error) {
        throw new KeywardConfigError(
          `cannot read --github-scanning-keys file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
      keys.#keys = parseGithubKeys(text);
      keys.#loadedAt = keys.#now();
    } else {
      await keys.#refresh();
    }
    return keys;
  }

  /** Where the keys come from, for messages. */
  get source(): string {
    return this.#url ? `${this.#url.origin}${this.#url.pathname}` : this.#path;
  }

  /** Whether any key is loaded. */
  get ready(): boolean {
    return this.#keys.size > 0;
  }

  /** The key an identifier names, fetching the list again when it is stale or lacks the id (URL only). */
  async get(id: string): Promise<KeyObject | undefined> {
    if (!IDENTIFIER.test(id)) return undefined;
    const now = this.#now();
    if (this.#url !== undefined) {
      // Fetches are at least a minute apart, whatever requests name: a made-up identifier
      // or GitHub being down costs one fetch a minute, not one per request.
      const canTry = now - this.#triedAt > REFETCH_INTERVAL_MS;
      if (this.#keys.has(id)) {
        // A stale list is still used while the new one loads.
        if (now - this.#loadedAt > KEYS_TTL_MS && canTry) void this.#refresh();
      } else if (this.#loading) await this.#loading;
      else if (canTry) await this.#refresh();
    }
    return this.#keys.get(id);
  }

  /** One fetch at a time; a failure keeps the keys held. */
  #refresh(): Promise<void> {
    this.#loading ??= (async () => {
      this.#triedAt = this.#now();
      try {
        const res = await this.#fetch(this.#url!, {
          signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
          redirect: 'error',
          headers: { accept: 'application/json' },
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = await boundedBody(res, MAX_DOCUMENT_BYTES);
        if (body === undefined) throw new Error(`more than ${MAX_DOCUMENT_BYTES} bytes`);
        this.#keys = parseGithubKeys(body.toString('utf8'));
        this.#loadedAt = this.#now();
      } catch (error) {
        this.#log(
          `keyward: cannot fetch GitHub scanning keys from ${this.source} (${error instanceof Error ? error.message : 'error'}); ${this.#keys.size > 0 ? 'keeping the keys loaded before' : 'the secret scanning endpoint answers 503 until it can'}`,
        );
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }
}
