import { AuthFailure, KeywardConfigError } from '../core/failures.js';
import type { KeySource } from '../core/request.js';
import { type ClientAddressReader, markRestriction, type RequestRestriction } from '../core/restriction.js';
import { formatIp, type IpBytes, parseIp, parseRange } from '../internal/ip.js';

/**
 * Where a key (or an owner's keys) may be used, as stored and as given. Each list that is
 * present and not empty restricts; a request must pass every one. A request outside any
 * of them gets the same 403 `{"detail":"API key not allowed here"}` (code `restricted`),
 * whichever failed.
 */
export interface Restrictions {
  /**
   * Client addresses allowed: IPv4 or IPv6 addresses and CIDR ranges (`203.0.113.0/24`,
   * `2001:db8::/32`). The client address is found as the guard's rate limits find it
   * (trusted proxies, or a platform header), else it is the connection's peer.
   */
  readonly ipAllow?: readonly string[];
  /**
   * Browser origins allowed (`https://app.example.com`, `https://*.example.com` for its
   * subdomains): the request's `Origin`, else the origin of its `Referer`. A request with
   * neither is refused.
   */
  readonly originAllow?: readonly string[];
  /**
   * Operations allowed: `METHOD /path` (`GET /reports/*`, `POST /jobs`, `* /health`), or
   * an OpenAPI operation id (`get_reports`). In a path, `*` as the last segment matches
   * one or more segments, elsewhere exactly one, as do `{name}` and `:name`. `GET` also
   * allows `HEAD`.
   */
  readonly routes?: readonly string[];
}

/** Most entries of each kind a restriction may hold. */
export const MAX_RESTRICTION_ENTRIES = 256;

const METHOD = /^(?:\*|[A-Za-z]{1,20})$/;
const OPERATION_ID = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
// RFC 3986 path characters; `*`, `{name}` and `:name` are patterns.
const SEGMENT =
  /^(?:\*|\{[A-Za-z_][A-Za-z0-9_]{0,63}\}|:[A-Za-z_][A-Za-z0-9_]{0,63}|[A-Za-z0-9._~!$&'()+,;=@-]+)$/;
const PERCENT = /%/;
/**
 * A path a router or proxy may read as another one: encoded dots, slashes or backslashes,
 * dot segments, empty segments, backslashes. It matches no route restriction.
 */
const AMBIGUOUS_PATH = /%2e|%2f|%5c|\\|\/\.\.?(?:\/|$)|\/\//i;
const HOST_LABELS = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Input repeated in a message, shortened: restriction entries are not secrets. */
function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

function entries(value: unknown, what: string): readonly string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new KeywardConfigError(`${what} must be a list of strings`);
  }
  const list = [...new Set((value as string[]).map((v) => v.trim()).filter((v) => v !== ''))];
  if (list.length > MAX_RESTRICTION_ENTRIES) {
    throw new KeywardConfigError(`${what} may hold at most ${MAX_RESTRICTION_ENTRIES} entries`);
  }
  return list;
}

// ---- addresses --------------------------------------------------------------------------

interface AddressRanges {
  /**
   * IPv4 ranges as sorted, disjoint, inclusive [low, high] pairs of 32-bit numbers: a
   * binary search finds an address among any number of them in a few comparisons.
   */
  readonly v4: Float64Array;
  /**
   * IPv6 ranges, 8 words each (the network's four 32-bit words, then the mask's), grouped
   * by what a client address needs to find its candidates at once: ranges of /48 or longer
   * by their first 48 bits, /32 to /47 by their first 32, shorter ones in `v6Short`.
   */
  readonly v6By48: ReadonlyMap<number, ReadonlyMap<number, Uint32Array>>;
  readonly v6By32: ReadonlyMap<number, Uint32Array>;
  readonly v6Short: Uint32Array;
}

function words(bytes: IpBytes): [number, number, number, number] {
  const w: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    w[i] =
      ((bytes[4 * i]! << 24) | (bytes[4 * i + 1]! << 16) | (bytes[4 * i + 2]! << 8) | bytes[4 * i + 3]!) >>>
      0;
  }
  return w;
}

function maskWord(prefix: number, word: number): number {
  const bits = Math.min(32, Math.max(0, prefix - 32 * word));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Canonical text of a range: the network address, then `/prefix` unless it is one address. */
function canonicalRange(text: string): { text: string; bytes: IpBytes; prefix: number } {
  const range = text.includes('%') ? undefined : parseRange(text);
  if (range === undefined) {
    const [address = ''] = text.split('/');
    throw new KeywardConfigError(
      parseIp(address) === undefined || address.includes('%')
        ? `ipAllow: ${shown(text)} is not an IP address or CIDR range`
        : `ipAllow: bad prefix length in ${shown(text)} (0-32 for IPv4, 0-128 for IPv6)`,
    );
  }
  const { bytes, prefix } = range;
  const network = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.min(8, Math.max(0, prefix - 8 * i));
    network[i] = bytes[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  const base = formatIp(network);
  if (formatIp(bytes) !== base) {
    throw new KeywardConfigError(
      `ipAllow: ${shown(text)} has bits set past its /${prefix} prefix; did you mean ${base}/${prefix}?`,
    );
  }
  const max = bytes.length * 8;
  return { text: prefix === max ? base : `${base}/${prefix}`, bytes: network, prefix };
}

const MAPPED_PREFIX = [0, 0, 0xffff, 0] as const;

/** Sorts and merges [low, high] pairs into disjoint ones. */
function merged(pairs: [number, number][]): Float64Array {
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [low, high] of pairs) {
    const last = out.length - 1;
    if (last > 0 && low <= out[last]! + 1) out[last] = Math.max(out[last]!, high);
    else out.push(low, high);
  }
  return Float64Array.from(out);
}

function compileAddresses(list: readonly string[]): { ranges: AddressRanges; canonical: string[] } {
  const v4: [number, number][] = [];
  const by48 = new Map<number, Map<number, number[]>>();
  const by32 = new Map<number, number[]>();
  const short: number[] = [];
  const canonical: string[] = [];
  for (const entry of list) {
    const { text, bytes, prefix } = canonicalRange(entry);
    if (!canonical.includes(text)) canonical.push(text);
    if (bytes.length === 4) {
      const low = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
      v4.push([low, low + 2 ** (32 - prefix) - 1]);
      continue;
    }
    const w = words(bytes);
    const range = [...w, maskWord(prefix, 0), maskWord(prefix, 1), maskWord(prefix, 2), maskWord(prefix, 3)];
    if (prefix >= 48) {
      // Two levels of small-integer keys: a 48-bit number key would be a heap number.
      const inner = by48.get(w[0]) ?? new Map<number, number[]>();
      by48.set(w[0], inner);
      inner.set(w[1] >>> 16, [...(inner.get(w[1] >>> 16) ?? []), ...range]);
    } else if (prefix >= 32) by32.set(w[0], [...(by32.get(w[0]) ?? []), ...range]);
    else short.push(...range);
    // An IPv6 range that holds the IPv4-mapped block (`::/0`, `::/64`, `::ffff:0:0/96`) holds
    // every IPv4 address, as node:net's BlockList has it: IPv4 clients are checked as IPv4.
    const holdsMapped =
      prefix <= 96 &&
      [0, 1, 2].every((i) => (w[i]! & maskWord(prefix, i)) === (MAPPED_PREFIX[i]! & maskWord(prefix, i)));
    if (holdsMapped) v4.push([0, 0xffffffff]);
  }
  const typed = (m: Map<number, number[]>) => new Map([...m].map(([k, v]) => [k, Uint32Array.from(v)]));
  return {
    ranges: {
      v4: merged(v4),
      v6By48: new Map([...by48].map(([k, inner]) => [k, typed(inner)])),
      v6By32: typed(by32),
      v6Short: Uint32Array.from(short),
    },
    canonical,
  };
}

/**
 * An IPv4 address as a 32-bit number, read from `start` to `end` of `text`, or -1.
 * Written out by hand, like the IPv6 reader below: the client address is read on every
 * request of a restricted key, and this allocates nothing.
 */
function ipv4At(text: string, start: number, end: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || parts === 4) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros: `010` is octal to some parsers and decimal to others.
      if (digits === 1 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  return parts === 4 ? value : -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

// The 16-bit groups of the IPv6 address being read; one reader at a time (sync).
const groups = new Uint16Array(8);

/**
 * Reads an IPv6 address (RFC 4291 text: `::` once, an IPv4 tail, a zone after `%`
 * ignored) into {@link groups}; false when it is not one.
 */
function readIPv6(text: string): boolean {
  const zone = text.indexOf('%');
  const end = zone === -1 ? text.length : zone;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    const start = i;
    let value = 0;
    let digit = hexValue(text.charCodeAt(i));
    while (digit !== -1 && i < end) {
      if (i - start === 4) return false;
      value = value * 16 + digit;
      i++;
      digit = i < end ? hexValue(text.charCodeAt(i)) : -1;
    }
    if (i < end && text.charCodeAt(i) === 46) {
      // An IPv4 tail fills the last two groups.
      const v4 = ipv4At(text, start, end);
      if (v4 < 0 || n > 6) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (i === start || n === 8) return false;
    groups[n++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap !== -1) return false;
      gap = n;
      i++;
    } else if (i === end) return false;
  }
  if (gap === -1) return n === 8;
  if (n > 7) return false;
  // Move the groups after `::` to the end; zeros fill the gap.
  const moved = n - gap;
  for (let k = 0; k < moved; k++) groups[7 - k] = groups[n - 1 - k]!;
  for (let k = gap; k < 8 - moved; k++) groups[k] = 0;
  return true;
}

function inV4(v4: number, r: Float64Array): boolean {
  let lo = 0;
  let hi = (r.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (v4 < r[2 * mid]!) hi = mid - 1;
    else if (v4 > r[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

function addressAllowed(address: string | undefined, ranges: AddressRanges): boolean {
  if (address === undefined) return false;
  if (address.indexOf(':') === -1) {
    const v4 = ipv4At(address, 0, address.length);
    return v4 >= 0 && inV4(v4, ranges.v4);
  }
  // `::ffff:a.b.c.d`, as a dual-stack socket reports IPv4 peers, read without the parser.
  if (
    address.length > 7 &&
    address.charCodeAt(0) === 58 &&
    address.charCodeAt(1) === 58 &&
    address.charCodeAt(6) === 58 &&
    (address.charCodeAt(2) | 0x20) === 102 &&
    (address.charCodeAt(3) | 0x20) === 102 &&
    (address.charCodeAt(4) | 0x20) === 102 &&
    (address.charCodeAt(5) | 0x20) === 102 &&
    address.indexOf('%') === -1
  ) {
    const v4 = ipv4At(address, 7, address.length);
    if (v4 >= 0) return inV4(v4, ranges.v4);
  }
  if (!readIPv6(address)) return false;
  const g = groups;
  // IPv4-mapped (`::ffff:a.b.c.d`, how a dual-stack socket reports IPv4 peers): IPv4.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return inV4(g[6]! * 65536 + g[7]!, ranges.v4);
  }
  const w0 = ((g[0]! << 16) | g[1]!) >>> 0;
  const w1 = ((g[2]! << 16) | g[3]!) >>> 0;
  const w2 = ((g[4]! << 16) | g[5]!) >>> 0;
  const w3 = ((g[6]! << 16) | g[7]!) >>> 0;
  return (
    inV6(ranges.v6By48.get(w0)?.get(g[2]!), w0, w1, w2, w3) ||
    inV6(ranges.v6By32.get(w0), w0, w1, w2, w3) ||
    inV6(ranges.v6Short, w0, w1, w2, w3)
  );
}

function inV6(v6: Uint32Array | undefined, w0: number, w1: number, w2: number, w3: number): boolean {
  if (v6 === undefined) return false;
  for (let i = 0; i < v6.length; i += 8) {
    if (
      (w0 & v6[i + 4]!) >>> 0 === v6[i]! &&
      (w1 & v6[i + 5]!) >>> 0 === v6[i + 1]! &&
      (w2 & v6[i + 6]!) >>> 0 === v6[i + 2]! &&
      (w3 & v6[i + 7]!) >>> 0 === v6[i + 3]!
    )
      return true;
  }
  return false;
}

// ---- origins ----------------------------------------------------------------------------

interface OriginRules {
  readonly exact: ReadonlySet<string>;
  /** `https://*.example.com:8443` as [`https://`, `.example.com:8443`]. */
  readonly wildcards: readonly (readonly [string, string])[];
}

function canonicalOrigin(text: string): { text: string; wildcard?: readonly [string, string] } {
  const bad = () =>
    new KeywardConfigError(
      `originAllow: ${shown(text)} is not an origin: give scheme and host only, e.g. https://app.example.com or https://*.example.com`,
    );
  const m = /^(https?):\/\/(\*\.)?([^/?#@\\*]+)\/?$/i.exec(text);
  if (!m) throw bad();
  let url: URL;
  try {
    // The URL parser lower-cases the host, drops a default port and encodes IDNs.
    url = new URL(`${m[1]}://${m[2] ? 'x.' : ''}${m[3]}`);
  } catch {
    throw bad();
  }
  if (url.origin === 'null') throw bad();
  if (!m[2]) return { text: url.origin };
  const hostname = url.hostname.slice(2);
  if (!HOST_LABELS.test(hostname) || !hostname.includes('.')) {
    throw new KeywardConfigError(
      `originAllow: ${shown(text)}: a wildcard needs a domain name of at least two labels after "*."`,
    );
  }
  const scheme = `${url.protocol}//`;
  const host = url.host.slice(2);
  return { text: `${scheme}*.${host}`, wildcard: [scheme, `.${host}`] };
}

function compileOrigins(list: readonly string[]): { rules: OriginRules; canonical: string[] } {
  const exact = new Set<string>();
  const wildcards: [string, string][] = [];
  const canonical: string[] = [];
  for (const entry of list) {
    const origin = canonicalOrigin(entry);
    if (canonical.includes(origin.text)) continue;
    canonical.push(origin.text);
    if (origin.wildcard) wildcards.push([origin.wildcard[0], origin.wildcard[1]]);
    else exact.add(origin.text);
  }
  return { rules: { exact, wildcards }, canonical };
}

function originMatches(origin: string, rules: OriginRules): boolean {
  if (rules.exact.has(origin)) return true;
  const lower = origin.toLowerCase();
  if (lower !== origin && rules.exact.has(lower)) return true;
  for (const [scheme, suffix] of rules.wildcards) {
    if (lower.length <= scheme.length + suffix.length || !lower.startsWith(scheme) || !lower.endsWith(suffix))
      continue;
    const label = lower.slice(scheme.length, lower.length - suffix.length);
    if (HOST_LABELS.test(label)) return true;
  }
  return false;
}

/** The origin of a `Referer` (`https://host[:port]`), or undefined when it has none. */
function refererOrigin(referer: string): string | undefined {
  const scheme = referer.indexOf('://');
  if (scheme === -1) return undefined;
  let end = referer.length;
  for (let i = scheme + 3; i < referer.length; i++) {
    const c = referer.charCodeAt(i);
    // `/`, `?`, `#`; `@` and `\` (credentials, a backslash some parsers read as `/`) refuse it.
    if (c === 47 || c === 63 || c === 35) {
      end = i;
      break;
    }
    if (c === 64 || c === 92) return undefined;
  }
  return end === scheme + 3 ? undefined : referer.slice(0, end);
}

function single(value: string | readonly string[] | undefined): string | undefined {
  // Sent twice (an array, or lines joined with `,`), it names no one origin.
  if (typeof value !== 'string' || value.indexOf(',') !== -1) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function originAllowed(source: KeySource, rules: OriginRules): boolean {
  const origin = single(source.header('origin'));
  // An `Origin` decides when present; `null` (an opaque origin) is no allowed one.
  if (origin !== undefined) return origin !== 'null' && originMatches(origin, rules);
  const referer = single(source.header('referer'));
  const from = referer === undefined ? undefined : refererOrigin(referer);
  return from !== undefined && originMatches(from, rules);
}

// ---- routes -----------------------------------------------------------------------------

interface RouteRule {
  /** Upper case; `*` for any method. */
  readonly method: string;
  readonly path: RegExp;
}

interface RouteRules {
  readonly routes: readonly RouteRule[];
  readonly operations: ReadonlySet<string>;
}

function compileRoutes(list: readonly string[]): { rules: RouteRules; canonical: string[] } {
  const routes: RouteRule[] = [];
  const operations = new Set<string>();
  const canonical: string[] = [];
  for (const entry of list) {
    const space = entry.search(/\s/);
    if (space === -1) {
      if (!OPERATION_ID.test(entry) || entry.includes('/')) {
        throw new KeywardConfigError(
          `routes: ${shown(entry)} is neither "METHOD /path" (e.g. "GET /reports/*") nor an operation id`,
        );
      }
      operations.add(entry);
      if (!canonical.includes(entry)) canonical.push(entry);
      continue;
    }
    const method = entry.slice(0, space);
    const path = entry.slice(space).trim();
    if (!METHOD.test(method))
      throw new KeywardConfigError(`routes: ${shown(entry)}: bad method ${shown(method)}`);
    if (!path.startsWith('/') || AMBIGUOUS_PATH.test(path) || PERCENT.test(path)) {
      throw new KeywardConfigError(
        `routes: ${shown(entry)}: the path must start with / and be plain (no %, .., //)`,
      );
    }
    const segments = path === '/' ? [] : path.replace(/\/$/, '').slice(1).split('/');
    let source = '';
    segments.forEach((segment, i) => {
      if (!SEGMENT.test(segment)) {
        throw new KeywardConfigError(`routes: ${shown(entry)}: bad path segment ${shown(segment)}`);
      }
      if (segment === '*') source += i === segments.length - 1 ? '(?:/[^/]+)+' : '/[^/]+';
      else if (segment.startsWith('{') || segment.startsWith(':')) source += '/[^/]+';
      else source += `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
    });
    const upper = method.toUpperCase();
    const text = `${upper} ${segments.length === 0 ? '/' : `/${segments.join('/')}`}`;
    if (canonical.includes(text)) continue;
    canonical.push(text);
    routes.push({ method: upper, path: new RegExp(`^${source}/?$`) });
  }
  return { rules: { routes, operations }, canonical };
}

function routeAllowed(source: KeySource, rules: RouteRules): boolean {
  if (rules.operations.size > 0) {
    const operation = source.operation?.();
    if (operation !== undefined && rules.operations.has(operation)) return true;
  }
  if (rules.routes.length === 0) return false;
  const method = source.method?.();
  const path = source.path?.();
  if (method === undefined || path === undefined || AMBIGUOUS_PATH.test(path)) return false;
  for (const route of rules.routes) {
    if (route.method !== '*' && route.method !== method && !(route.method === 'GET' && method === 'HEAD'))
      continue;
    if (route.path.test(path)) return true;
  }
  return false;
}

// ---- the restriction --------------------------------------------------------------------

/** Options of {@link compileRestrictions}. */
export interface CompileRestrictionsOptions {
  /** The key (or owner) id the refusal names for observers (metrics, logs); never sent. */
  readonly keyId?: string;
}

/**
 * Restrictions parsed once, checked per request with no allocation: addresses as numeric
 * ranges, origins in a set, routes as compiled patterns. `toJSON()` gives the canonical
 * {@link Restrictions}, so a principal that carries it serialises readably.
 */
export class CompiledRestrictions implements RequestRestriction {
  /** The canonical restrictions: ranges at their network address, origins lower case, routes normalised. */
  readonly restrictions: Readonly<Restrictions>;
  readonly #addresses: AddressRanges | undefined;
  readonly #origins: OriginRules | undefined;
  readonly #routes: RouteRules | undefined;
  readonly #refusal: AuthFailure;

  /** Prefer {@link compileRestrictions}, which answers `undefined` when nothing restricts. */
  constructor(restrictions: Restrictions, options: CompileRestrictionsOptions = {}) {
    if (typeof restrictions !== 'object' || restrictions === null) {
      throw new KeywardConfigError('restrictions must be an object');
    }
    const ip = entries(restrictions.ipAllow, 'ipAllow');
    const origin = entries(restrictions.originAllow, 'originAllow');
    const route = entries(restrictions.routes, 'routes');
    const canonical: {
      ipAllow?: readonly string[];
      originAllow?: readonly string[];
      routes?: readonly string[];
    } = {};
    if (ip.length > 0) {
      const compiled = compileAddresses(ip);
      this.#addresses = compiled.ranges;
      canonical.ipAllow = Object.freeze(compiled.canonical);
    }
    if (origin.length > 0) {
      const compiled = compileOrigins(origin);
      this.#origins = compiled.rules;
      canonical.originAllow = Object.freeze(compiled.canonical);
    }
    if (route.length > 0) {
      const compiled = compileRoutes(route);
      this.#routes = compiled.rules;
      canonical.routes = Object.freeze(compiled.canonical);
    }
    this.restrictions = Object.freeze(canonical);
    this.#refusal = new AuthFailure('restricted', undefined, undefined, undefined, options.keyId);
    markRestriction(this);
    Object.freeze(this);
  }

  /** Whether nothing is restricted (every list empty). */
  get empty(): boolean {
    return this.#addresses === undefined && this.#origins === undefined && this.#routes === undefined;
  }

  /** Whether a request is within every restriction. */
  allows(source: KeySource, clientAddress: ClientAddressReader = (s) => s.peer?.()): boolean {
    const addresses = this.#addresses;
    if (addresses !== undefined && !addressAllowed(clientAddress(source), addresses)) return false;
    const origins = this.#origins;
    if (origins !== undefined && !originAllowed(source, origins)) return false;
    const routes = this.#routes;
    return routes === undefined || routeAllowed(source, routes);
  }

  /** The guard's check: the one refusal for any request outside, whichever list it failed. */
  refusal(source: KeySource, clientAddress: ClientAddressReader): AuthFailure | undefined {
    return this.allows(source, clientAddress) ? undefined : this.#refusal;
  }

  toJSON(): Readonly<Restrictions> {
    return this.restrictions;
  }
}

/**
 * Parses restrictions once (throws `KeywardConfigError` naming the bad entry: a malformed
 * CIDR, a prefix past its length, an origin with a path, a route without a method). Answers
 * `undefined` when nothing restricts, so principals without restrictions carry none.
 */
export function compileRestrictions(
  restrictions: Restrictions | null | undefined,
  options?: CompileRestrictionsOptions,
): CompiledRestrictions | undefined {
  if (restrictions === null || restrictions === undefined) return undefined;
  const compiled = new CompiledRestrictions(restrictions, options);
  return compiled.empty ? undefined : compiled;
}

class CustomRestriction implements RequestRestriction {
  readonly refusal: RequestRestriction['refusal'];
  constructor(refusal: RequestRestriction['refusal']) {
    this.refusal = refusal;
    markRestriction(this);
    Object.freeze(this);
  }
}

/**
 * A restriction of your own, which the guard's default `restrictionsOf` recognises on a
 * principal's `restrictions`: `refusal` answers the failure (e.g. `deny('restricted')`)
 * for a request outside it. Sync, no I/O, must not throw.
 */
export function restriction(refusal: RequestRestriction['refusal']): RequestRestriction {
  if (typeof refusal !== 'function') throw new KeywardConfigError('restriction needs a refusal function');
  return new CustomRestriction(refusal);
}

class AllRestrictions implements RequestRestriction {
  readonly #all: readonly RequestRestriction[];
  constructor(all: readonly RequestRestriction[]) {
    this.#all = all;
    markRestriction(this);
    Object.freeze(this);
  }
  refusal(source: KeySource, clientAddress: ClientAddressReader): AuthFailure | undefined {
    for (const r of this.#all) {
      const refused = r.refusal(source, clientAddress);
      if (refused !== undefined) return refused;
    }
    return undefined;
  }
}

/**
 * Restrictions that all apply (an owner's and its key's): a request must be within each,
 * and is refused with the first refusal. `undefined` entries are skipped; one left is
 * answered as it is.
 */
export function combineRestrictions(
  ...restrictions: readonly (RequestRestriction | null | undefined)[]
): RequestRestriction | undefined {
  const all = restrictions.filter((r): r is RequestRestriction => r !== undefined && r !== null);
  if (all.length <= 1) return all[0];
  return new AllRestrictions(all);
}
