import { BlockList, isIP } from 'node:net';
import { KeywardConfigError } from '../core/errors.js';

/**
 * Finds the client address of a request. Off by default: the socket's peer address is the
 * client. With `trustedProxies`, `X-Forwarded-For` is read from the right, skipping the
 * trusted hops, and only when the peer itself is trusted, so a client cannot spoof it.
 */
export interface ClientAddressOptions {
  /** Addresses or CIDR ranges of your proxies/load balancers, e.g. `['10.0.0.0/8', '127.0.0.1']`. */
  trustedProxies?: readonly string[];
}

export type ClientAddressResolver = (
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
) => string | undefined;

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

function normalize(address: string): string {
  const a = address.trim();
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

export function clientAddressResolver(options: ClientAddressOptions = {}): ClientAddressResolver {
  const proxies = options.trustedProxies ?? [];
  if (proxies.length === 0) return (peer) => (peer === undefined ? undefined : normalize(peer));
  const trusted = new BlockList();
  for (const entry of proxies) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0)
      throw new KeywardConfigError(
        `trustedProxies: ${JSON.stringify(entry)} is not an IP address or CIDR range`,
      );
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) trusted.addAddress(address, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw new KeywardConfigError(`trustedProxies: bad prefix length in ${JSON.stringify(entry)}`);
      }
      trusted.addSubnet(address, prefix, type);
    }
  }
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
  return (peer, forwardedFor) => {
    if (peer === undefined) return undefined;
    let client = normalize(peer);
    if (!isTrusted(client) || forwardedFor === undefined) return client;
    const hops = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(hops[i]!);
      if (isIP(hop) === 0) return client; // garbage in the chain: stop at the last good hop
      client = hop;
      if (!isTrusted(hop)) return hop;
    }
    return client;
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
