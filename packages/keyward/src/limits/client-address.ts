import { BlockList, isIP } from 'node:net';
import { KeywardConfigError } from '../core/failures.js';

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
