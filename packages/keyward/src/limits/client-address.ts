import { isIP } from 'node:net';
import { KeywardConfigError } from '../core/failures.js';
import type { KeySource } from '../core/request.js';

/**
 * Finds the client address of a request, for the per-address failure limit. Off by
 * default: the socket's peer address is the client. With `trustedProxies`,
 * `X-Forwarded-For` is read from the right, skipping the trusted hops, and only when the
 * peer itself is trusted, so a client cannot spoof it. With `header`, a header the
 * platform sets is the client address. See docs/scaling.md, "The client address".
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

function normalize(address: string): string {
  let a = address.trim();
  // An IPv6 zone (`fe80::1%eth0`) names a local interface, not a client.
  const zone = a.indexOf('%');
  if (zone !== -1 && isIP(a) === 6) a = a.slice(0, zone);
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) return a.slice(7);
  return a.includes(':') ? a.toLowerCase() : a;
}

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
    return (rest === '' || PORT.test(rest)) && isIP(inner) === 6 ? normalize(inner) : undefined;
  }
  if (isIP(h) !== 0) return normalize(h);
  const colon = h.indexOf(':');
  // IPv4 with a port: one colon only (a bare IPv6 address has several, and no port).
  if (colon !== -1 && colon === h.lastIndexOf(':') && PORT.test(h.slice(colon))) {
    const host = h.slice(0, colon);
    if (isIP(host) === 4) return host;
  }
  return undefined;
}

/** Who a hop that names no address stands for: its obfuscated identifier, else `unknown`. */
function hopLabel(hop: string): string {
  const h = unquote(hop);
  return OBFUSCATED.test(h) ? h : UNKNOWN_CLIENT;
}

function ipv4Number(address: string): number {
  let n = 0;
  for (const part of address.split('.')) n = n * 256 + Number(part);
  return n;
}

function groupsOf(text: string): number[] {
  const groups: number[] = [];
  if (text === '') return groups;
  for (const part of text.split(':')) {
    if (part.includes('.')) {
      // A trailing dotted IPv4 part (`::ffff:1.2.3.4`) fills two groups.
      const v4 = ipv4Number(part);
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
    } else groups.push(Number.parseInt(part, 16));
  }
  return groups;
}

/** The eight 16-bit groups of a valid IPv6 address (no zone). */
function ipv6Groups(address: string): number[] {
  const gap = address.indexOf('::');
  if (gap === -1) return groupsOf(address);
  const left = groupsOf(address.slice(0, gap));
  const right = groupsOf(address.slice(gap + 2));
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const mappedGroups = (v4: number) => [0, 0, 0, 0, 0, 0xffff, Math.floor(v4 / 65536), v4 % 65536];

interface Network {
  readonly v4: boolean;
  readonly bits: number;
  /** IPv4: one 32-bit number; IPv6: eight 16-bit groups. */
  readonly value: number | readonly number[];
}

function inNetwork(net: Network, v4: number | undefined, v6: readonly number[] | undefined): boolean {
  if (net.v4) {
    if (v4 === undefined) return false;
    const shift = 2 ** (32 - net.bits);
    return Math.floor(v4 / shift) === Math.floor((net.value as number) / shift);
  }
  if (v6 === undefined) return false;
  const groups = net.value as readonly number[];
  let bits = net.bits;
  for (let i = 0; bits > 0; i++, bits -= 16) {
    const shift = 2 ** Math.max(0, 16 - bits);
    if (Math.floor(v6[i]! / shift) !== Math.floor(groups[i]! / shift)) return false;
  }
  return true;
}

// Addresses and CIDR ranges matched by arithmetic: node:net's BlockList builds a
// SocketAddress per check, which made it the largest cost of a limited request.
function trustList(proxies: readonly string[]): (address: string) => boolean {
  const networks: Network[] = [];
  for (const entry of proxies) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || address.includes('%'))
      throw new KeywardConfigError(
        `trustedProxies: ${JSON.stringify(entry)} is not an IP address or CIDR range`,
      );
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (bits !== undefined && (!/^\d{1,3}$/.test(bits) || prefix > max)) {
      throw new KeywardConfigError(`trustedProxies: bad prefix length in ${JSON.stringify(entry)}`);
    }
    if (family === 4) networks.push({ v4: true, bits: prefix, value: ipv4Number(address) });
    else networks.push({ v4: false, bits: prefix, value: ipv6Groups(address) });
  }
  const hasV6 = networks.some((n) => !n.v4);
  return (address) => {
    const family = isIP(address);
    if (family === 0) return false;
    if (family === 6 && !hasV6) return false;
    const v4 = family === 4 ? ipv4Number(address) : undefined;
    // An IPv4 address is also its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), as BlockList has it.
    const v6 = v4 === undefined ? ipv6Groups(address) : hasV6 ? mappedGroups(v4) : undefined;
    for (const net of networks) if (inNetwork(net, v4, v6)) return true;
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
  const g = ipv6Groups(address);
  return `${g[0]!.toString(16)}:${g[1]!.toString(16)}:${g[2]!.toString(16)}:${g[3]!.toString(16)}::/64`;
}
