import { REDACTED, redactKeyShapes, redactUrl } from './redact.js';

/**
 * Makes a plain, JSON-ready copy of anything handed to the logger, with keys taken out.
 * It never throws and never runs more than reading a property does: request and response
 * objects of every adapter are recognised and summarised (method, redacted URL, redacted
 * headers), other objects are copied property by property, each read guarded, within a
 * depth and size budget.
 */
export interface Scrubber {
  /** A copy of `value` safe to log. */
  value(value: unknown): unknown;
  /** `text` with key-shaped text and values of secret names (`x-api-key=…`) redacted. */
  text(text: string): string;
}

export interface ScrubberOptions {
  /**
   * Names whose values are secret wherever they appear, in any letter case: as a header,
   * a property, a cookie or query parameter in text (`name=…`, `name: …`).
   */
  secretNames: readonly string[];
  /** Query parameters that may keep their value in URLs (see `redactUrl`). */
  keepQuery: readonly string[];
}

/** Properties whose value is a URL or a request target. */
const URL_FIELDS = new Set([
  'url',
  'urls',
  'originalurl',
  'baseurl',
  'href',
  'uri',
  'path',
  'referer',
  'referrer',
  'location',
  'content-location',
]);
/** Properties redacted whole: parsed queries and cookies. */
const WHOLE = new Set(['query', 'querystring', 'searchparams', 'cookies', 'signedcookies']);
/** A string that looks like a URL or request target. */
const URL_LIKE = /^(?:[a-z][a-z0-9+.-]*:\/\/|\/)\S*$/i;
/** Credentials after an authentication scheme name. */
const SCHEME_CREDENTIALS = /\b(Bearer|Basic|Token|ApiKey|Digest)\s+[^\s,;"']+/gi;

const MAX_DEPTH = 10;
const MAX_KEYS = 200;
const MAX_ITEMS = 500;
/** Values copied per log call at most: a logged socket or server is not walked whole. */
const MAX_NODES = 5000;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function read(target: object, key: PropertyKey): unknown {
  try {
    return (target as Record<PropertyKey, unknown>)[key];
  } catch {
    return '[Unreadable]';
  }
}

const isFetchRequest = (v: object): v is Request => typeof Request === 'function' && v instanceof Request;
const isFetchResponse = (v: object): v is Response => typeof Response === 'function' && v instanceof Response;
const isFetchHeaders = (v: object): v is Headers => typeof Headers === 'function' && v instanceof Headers;

/** An instance of some class: framework objects are, objects built by hand are not. */
function isInstance(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto !== null && proto !== Object.prototype;
}

/** node:http's `IncomingMessage` (and so Express's `req`), recognised by shape. */
function isNodeRequest(v: object): boolean {
  return (
    isInstance(v) &&
    typeof read(v, 'method') === 'string' &&
    typeof read(v, 'url') === 'string' &&
    Array.isArray(read(v, 'rawHeaders')) &&
    typeof read(v, 'headers') === 'object'
  );
}

/** node:http's `ServerResponse` (and Express's `res`). */
function isNodeResponse(v: object): boolean {
  return (
    isInstance(v) && typeof read(v, 'statusCode') === 'number' && typeof read(v, 'getHeaders') === 'function'
  );
}

/** Builds a scrubber for a logger's schemes. */
export function createScrubber(options: ScrubberOptions): Scrubber {
  const secret = new Set(options.secretNames.map((n) => n.toLowerCase()));
  const keep = options.keepQuery;
  const names = [...secret].sort((a, b) => b.length - a.length).map(escapeRegExp);
  // `name=value`, `name: value`, `"name":"value"`: the value goes, up to a delimiter.
  const pairs =
    names.length === 0
      ? undefined
      : new RegExp(
          `(^|[^A-Za-z0-9_.-])(${names.join('|')})(["']?\\s*[:=]\\s*["']?)(?!\\[REDACTED\\])([^\\s&;,#"'}\\]]+)`,
          'gi',
        );

  function text(s: string): string {
    let out = redactKeyShapes(s);
    if (out.includes(' ')) out = out.replace(SCHEME_CREDENTIALS, `$1 ${REDACTED}`);
    if (pairs && (out.includes('=') || out.includes(':'))) out = out.replace(pairs, `$1$2$3${REDACTED}`);
    return out;
  }

  const url = (s: string) => text(redactUrl(s, keep));

  function value(input: unknown): unknown {
    let budget = MAX_NODES;
    const seen = new WeakSet<object>();

    function headerValue(name: string, v: unknown, depth: number): unknown {
      const lower = name.toLowerCase();
      if (secret.has(lower)) return v === undefined ? undefined : REDACTED;
      if (URL_FIELDS.has(lower) && typeof v === 'string') return url(v);
      return walk(v, depth);
    }

    /** Headers in any of their shapes: a plain object, a fetch `Headers`, a Map. */
    function headers(h: unknown, depth: number): unknown {
      if (typeof h !== 'object' || h === null) return walk(h, depth);
      if (isFetchHeaders(h) || h instanceof Map) {
        const out: Record<string, unknown> = {};
        try {
          for (const [k, v] of h as Iterable<[string, unknown]>)
            out[text(String(k))] = headerValue(String(k), v, depth + 1);
        } catch {
          return '[Unreadable]';
        }
        return out;
      }
      return walk(h, depth);
    }

    /** `[name, value, name, value, ...]` as node:http keeps it. */
    function rawHeaders(list: readonly unknown[], depth: number): unknown[] {
      const out: unknown[] = [];
      for (let i = 0; i < list.length && i < MAX_ITEMS; i += 2) {
        const name = list[i];
        out.push(walk(name, depth + 1));
        if (i + 1 < list.length) out.push(headerValue(String(name), list[i + 1], depth + 1));
      }
      return out;
    }

    function field(key: string, v: unknown, depth: number): unknown {
      const lower = key.toLowerCase();
      if (secret.has(lower)) return v === undefined || v === null ? v : REDACTED;
      if (WHOLE.has(lower)) return v === undefined || v === null || v === '' ? v : REDACTED;
      if (lower === 'rawheaders' && Array.isArray(v)) return rawHeaders(v, depth);
      if (lower === 'headers') return headers(v, depth);
      if (URL_FIELDS.has(lower)) {
        if (typeof v === 'string') return url(v);
        if (Array.isArray(v))
          return v.slice(0, MAX_ITEMS).map((u) => (typeof u === 'string' ? url(u) : walk(u, depth + 1)));
      }
      return walk(v, depth);
    }

    function request(method: unknown, target: unknown, h: unknown, depth: number, extra?: object) {
      return {
        method: typeof method === 'string' ? method : undefined,
        url: typeof target === 'string' ? url(target) : undefined,
        ...extra,
        headers: headers(h, depth + 1),
      };
    }

    function fromNodeRequest(v: object, depth: number) {
      const socket = read(v, 'socket') as { remoteAddress?: unknown; remotePort?: unknown } | undefined;
      const id = read(v, 'id');
      return request(read(v, 'method'), read(v, 'originalUrl') ?? read(v, 'url'), read(v, 'headers'), depth, {
        ...(typeof id === 'string' || typeof id === 'number' ? { id } : {}),
        remoteAddress: typeof socket?.remoteAddress === 'string' ? socket.remoteAddress : undefined,
        remotePort: typeof socket?.remotePort === 'number' ? socket.remotePort : undefined,
      });
    }

    /** The request and response objects of node:http, Express, Fastify, Hono and fetch. */
    function known(v: object, depth: number): unknown {
      if (isFetchRequest(v)) return request(read(v, 'method'), read(v, 'url'), read(v, 'headers'), depth);
      if (isFetchResponse(v)) {
        const target = read(v, 'url');
        return {
          status: read(v, 'status'),
          url: typeof target === 'string' && target !== '' ? url(target) : undefined,
          headers: headers(read(v, 'headers'), depth + 1),
        };
      }
      if (isFetchHeaders(v)) return headers(v, depth);
      if (v instanceof URL) return url(v.href);
      if (v instanceof URLSearchParams) return REDACTED;
      if (isNodeRequest(v)) return fromNodeRequest(v, depth);
      if (isNodeResponse(v)) {
        let h: unknown;
        try {
          h = (v as { getHeaders(): unknown }).getHeaders();
        } catch {
          h = '[Unreadable]';
        }
        return { statusCode: read(v, 'statusCode'), headers: headers(h, depth + 1) };
      }
      if (!isInstance(v)) return undefined;
      const raw = read(v, 'raw');
      if (typeof raw === 'object' && raw !== null) {
        // Fastify's request and reply wrap node:http's; Hono's `c.req` wraps a fetch Request.
        if (isNodeRequest(raw)) {
          const id = read(v, 'id');
          const ip = read(v, 'ip');
          return request(read(v, 'method'), read(v, 'url'), read(v, 'headers'), depth, {
            ...(typeof id === 'string' || typeof id === 'number' ? { id } : {}),
            remoteAddress: typeof ip === 'string' ? ip : undefined,
          });
        }
        if (isNodeResponse(raw)) return known(raw, depth);
        if (isFetchRequest(raw)) return known(raw, depth);
      }
      // Hono's Context: its request (reading `c.res` would create a response).
      const req = read(v, 'req');
      if (typeof req === 'object' && req !== null && 'env' in v && 'var' in v) {
        const inner = read(req, 'raw');
        if (typeof inner === 'object' && inner !== null && isFetchRequest(inner))
          return { req: known(inner, depth + 1) };
      }
      return undefined;
    }

    function error(e: Error, depth: number): Record<string, unknown> {
      const out: Record<string, unknown> = {
        type: (read(e, 'constructor') as { name?: unknown } | undefined)?.name ?? read(e, 'name'),
        message: text(String(read(e, 'message'))),
      };
      const stack = read(e, 'stack');
      if (typeof stack === 'string') out.stack = text(stack);
      let keys: string[] = [];
      try {
        keys = Object.keys(e);
      } catch {}
      for (const k of keys.slice(0, MAX_KEYS))
        if (!(k in out)) out[text(k)] = field(k, read(e, k), depth + 1);
      const cause = read(e, 'cause');
      if (cause !== undefined) out.cause = walk(cause, depth + 1);
      if (e instanceof AggregateError) out.errors = walk(read(e, 'errors'), depth + 1);
      return out;
    }

    function walk(v: unknown, depth: number): unknown {
      switch (typeof v) {
        case 'string':
          // A URL, a request target or a query string, whatever the property is called.
          return URL_LIKE.test(v) || v.startsWith('?') ? url(v) : text(v);
        case 'number':
        case 'boolean':
        case 'undefined':
          return v;
        case 'bigint':
          return v.toString();
        case 'symbol':
        case 'function':
          return undefined;
      }
      if (v === null) return null;
      const obj = v as object;
      if (--budget < 0) return '[Truncated]';
      if (seen.has(obj)) return '[Circular]';
      if (depth > MAX_DEPTH) return '[Object]';
      seen.add(obj);
      try {
        if (obj instanceof Error) return error(obj, depth);
        if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
        if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return `[Binary ${obj.byteLength} bytes]`;
        const summary = known(obj, depth);
        if (summary !== undefined) return summary;
        if (Array.isArray(obj)) {
          const out = obj.slice(0, MAX_ITEMS).map((item) => {
            // A `[name, value]` header pair.
            if (Array.isArray(item) && item.length === 2 && typeof item[0] === 'string') {
              return [item[0], headerValue(item[0], item[1], depth + 1)];
            }
            return walk(item, depth + 1);
          });
          if (obj.length > MAX_ITEMS) out.push(`[${obj.length - MAX_ITEMS} more]`);
          return out;
        }
        if (obj instanceof Map) return headers(obj, depth);
        if (obj instanceof Set) return walk([...obj], depth);
        const toJSON = read(obj, 'toJSON');
        if (typeof toJSON === 'function') return walk(toJSON.call(obj), depth + 1);
        const out: Record<string, unknown> = {};
        const keys = Object.keys(obj);
        // Names too: a parsed query names a pasted key (`?kw_…`).
        for (const k of keys.slice(0, MAX_KEYS)) out[text(k)] = field(k, read(obj, k), depth + 1);
        if (keys.length > MAX_KEYS) out['…'] = `${keys.length - MAX_KEYS} more`;
        return out;
      } catch {
        return '[Unreadable]';
      } finally {
        seen.delete(obj);
      }
    }

    return walk(input, 0);
  }

  return { value, text };
}
