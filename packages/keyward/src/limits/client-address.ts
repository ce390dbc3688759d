import { KeywardConfigError } from '../core/failures.js';
import type { KeySource } from '../core/request.js';
import { formatIp, inRange, limitKey, parseIp, parseRange } from '../internal/ip.js';

/**
 * Finds the client address of a request, for the per-address failure limit. Off by
 * default: the socket's peer address is the client. With `trustedProxies`,
 * `X-Forwarded-For` is read from the right, skipping the trusted hops, and only when the
 * peer itself is trusted, so a client cannot spoof it. With `header`, a header the
 * platform sets is the client address. See docs/guide/rate-limits.md, "The client address".
 */
export interface ClientAddressOptions {
  /** Addresses or CIDR ranges of your proxies/load balancers, e.g. `['10.0.0.0/8', '127.0.0.1']`. */
  trustedProxies?: readonly string[];
  /**
   * A header your platform sets to the client's address on every request, replacing what
   * the client sent: `cf-connecting-ip` (Cloudflare), `fly-client-ip` (Fly.io), or
   * `x-real-ip` as your own nginx sets it. The peer address and `X-Forwarded-For` are then
   * not read. For fetch runtimes and Hono outside Node, which have no peer address. Use
   * it only if every request reaches the app through that platform: a client that can
   * reach the app directly picks its own address.
   */
  header?: string;
}

export type ClientAddressResolver = (
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
) => string | undefined;

/** What a hop that names no address counts as, unless it is an obfuscated identifier. */
export const UNKNOWN_CLIENT = 'unknown';

// RFC 7239 §6: a port after the address, or an obfuscated one (`_abc`).
const PORT = /^:(?:\d{1,5}|_[\w.-]{1,63})$/;
// RFC 7239 §6.3: an obfuscated node identifier, stable per client at the proxy that wrote it.
const OBFUSCATED = /^_[\w.-]{1,63}$/;
const HEADER_NAME = /^[!#$%&'*+.^`|~\w-]{1,64}$/;

/**
 * An address in its one canonical text (RFC 5952 for IPv6, IPv4-mapped IPv6 as IPv4, no
 * zone), so that one client is one bucket however its address was written.
 */
function normalize(address: string): string {
  const a = address.trim();
  const bytes = parseIp(a);
  return bytes ? formatIp(bytes) : a.toLowerCase();
}

const isIPv4 = (text: string) => parseIp(text)?.length === 4;
const isIPv6 = (text: string) => text.includes(':') && parseIp(text) !== undefined;

function unquote(hop: string): string {
  const h = hop.trim();
  return h.length > 1 && h.startsWith('"') && h.endsWith('"') ? h.slice(1, -1).trim() : h;
}

/**
 * The IP address of one forwarded hop as proxies write it, or undefined when it names
 * none: `192.0.2.1`, `192.0.2.1:5678`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:443`,
 * each optionally in double quotes (RFC 7239 style).
 */
export function hopAddress(hop: string): string | undefined {
  const h = unquote(hop);
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end === -1) return undefined;
    const rest = h.slice(end + 1);
    const inner = h.slice(1, end);
    return (rest === '' || PORT.test(rest)) && isIPv6(inner) ? normalize(inner) : undefined;
  }
  if (parseIp(h) !== undefined) return normalize(h);
  const colon = h.indexOf(':');
  // IPv4 with a port: one colon only (a bare IPv6 address has several, and no port).
  if (colon !== -1 && colon === h.lastIndexOf(':') && PORT.test(h.slice(colon))) {
    const host = h.slice(0, colon);
    if (isIPv4(host)) return normalize(host);
  }
  return undefined;
}

/** Who a hop that names no address stands for: its obfuscated identifier, else `unknown`. */
function hopLabel(hop: string): string {
  const h = unquote(hop);
  return OBFUSCATED.test(h) ? h : UNKNOWN_CLIENT;
}

function trustList(proxies: readonly string[]): (address: string) => boolean {
  const ranges = proxies.map((entry) => {
    const range = entry.includes('%') ? undefined : parseRange(entry);
    if (range === undefined) {
      const [address = ''] = entry.split('/');
      throw new KeywardConfigError(
        parseIp(address) === undefined || address.includes('%')
          ? `trustedProxies: ${JSON.stringify(entry)} is not an IP address or CIDR range`
          : `trustedProxies: bad prefix length in ${JSON.stringify(entry)}`,
      );
    }
    return range;
  });
  return (address) => {
    const bytes = parseIp(address);
    if (bytes === undefined) return false;
    for (const range of ranges) if (inRange(bytes, range)) return true;
    return false;
  };
}

/**
 * The client address from the peer and `X-Forwarded-For`. Walking the hops from the
 * right, each trusted hop vouches for the one to its left; the first hop that is not a
 * trusted proxy is the client. If that hop names no address (`unknown`, an obfuscated
 * identifier, junk), the trusted proxy to its right wrote it: the client is then that
 * identifier, or the one shared `unknown` client. It is never the proxy's own address
 * (which would put every client behind it in one bucket), and never a hop further left
 * (which the client wrote itself).
 */
export function clientAddressResolver(options: ClientAddressOptions = {}): ClientAddressResolver {
  const proxies = options.trustedProxies ?? [];
  if (proxies.length === 0) return (peer) => (peer === undefined ? undefined : normalize(peer));
  const isTrusted = trustList(proxies);
  return (peer, forwardedFor) => {
    if (peer === undefined) return undefined;
    let client = normalize(peer);
    if (!isTrusted(client) || forwardedFor === undefined) return client;
    const hops = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const raw = hops[i]!;
      // Empty entries (a trailing comma, an empty header line) are no hop.
      if (raw.trim() === '') continue;
      const hop = hopAddress(raw);
      if (hop === undefined) return hopLabel(raw);
      client = hop;
      if (!isTrusted(hop)) return hop;
    }
    return client;
  };
}

/**
 * The address a request is counted under, from a {@link KeySource}, or undefined when
 * it has none (no peer address, or the configured header is missing).
 */
export function clientAddressOf(
  options: ClientAddressOptions = {},
): (source: KeySource) => string | undefined {
  const name = options.header;
  if (name === undefined) {
    const resolve = clientAddressResolver(options);
    return (source) => resolve(source.peer?.(), source.header('x-forwarded-for'));
  }
  if (typeof name !== 'string' || !HEADER_NAME.test(name))
    throw new KeywardConfigError(`clientAddress.header: ${JSON.stringify(name)} is not a header name`);
  if (options.trustedProxies?.length)
    throw new KeywardConfigError('clientAddress: give either header or trustedProxies, not both');
  const lower = name.toLowerCase();
  return (source) => {
    const value = source.header(lower);
    const joined = typeof value === 'string' ? value : value?.join(',');
    // Repeated, the last value is the one set nearest to the app.
    const last = joined?.slice(joined.lastIndexOf(',') + 1);
    if (last === undefined || last.trim() === '') return undefined;
    return hopAddress(last) ?? hopLabel(last);
  };
}

/**
 * The /64 network of an IPv6 address, as `2001:db8:0:1::/64`: providers give each
 * customer at least a /64, so every address in it is one client.
 */
export function ipv6Network(address: string): string {
  const bytes = parseIp(address);
  return bytes ? limitKey(bytes) : address;
}
