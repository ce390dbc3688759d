// IP addresses and CIDR ranges without node:net, so the limits run on every runtime.

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

const DECIMAL_OCTET = /^(?:0|[1-9]\d{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIPv4(text: string): IpBytes | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    // No leading zeros: `010` is octal to some parsers and decimal to others.
    if (!DECIMAL_OCTET.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseIPv6(text: string): IpBytes | undefined {
  if (text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): string[] | undefined =>
    half === '' ? [] : half.split(':').every((g) => g !== '') ? half.split(':') : undefined;
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const all = [...head, ...tail];
  // An IPv4 address may end the text (`::ffff:192.0.2.1`): it fills the last two groups.
  let v4: IpBytes | undefined;
  const last = all[all.length - 1];
  if (last?.includes('.')) {
    v4 = parseIPv4(last);
    if (!v4) return undefined;
    all.pop();
    (tail.length > 0 ? tail : head).pop();
  }
  const wanted = v4 ? 6 : 8;
  if (halves.length === 1 ? all.length !== wanted : all.length >= wanted) return undefined;
  if (!all.every((g) => HEX_GROUP.test(g))) return undefined;
  const words = [
    ...head.map((g) => Number.parseInt(g, 16)),
    ...new Array<number>(wanted - all.length).fill(0),
    ...tail.map((g) => Number.parseInt(g, 16)),
  ];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < wanted; i++) {
    bytes[2 * i] = words[i]! >> 8;
    bytes[2 * i + 1] = words[i]! & 0xff;
  }
  if (v4) bytes.set(v4, 12);
  return bytes;
}

const isMappedIPv4 = (b: IpBytes): boolean =>
  b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

/**
 * Parses an IPv4 or IPv6 address; `undefined` for anything else. An IPv4-mapped IPv6
 * address (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4 peers) is the IPv4 address.
 */
export function parseIp(text: string): IpBytes | undefined {
  // A zone (`fe80::1%eth0`) names the local interface, not another host.
  const zone = text.indexOf('%');
  const bytes = text.includes(':') ? parseIPv6(zone === -1 ? text : text.slice(0, zone)) : parseIPv4(text);
  return bytes && isMappedIPv4(bytes) ? bytes.slice(12) : bytes;
}

/** The canonical text of an address (RFC 5952 for IPv6: lower case, longest zero run as `::`). */
export function formatIp(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  let best = -1;
  let bestLength = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/** A CIDR range (`10.0.0.0/8`, `2001:db8::/32`) or a single address. */
export interface IpRange {
  readonly bytes: IpBytes;
  readonly prefix: number;
}

/** Parses `address` or `address/prefix`; `undefined` when either part is invalid. */
export function parseRange(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  if (slash === -1) return { bytes, prefix: max };
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return undefined;
  // A prefix on a mapped IPv6 form counts the IPv6 bits; it names the IPv4 range.
  const given = Number(bits);
  const prefix = text.slice(0, slash).includes(':') && bytes.length === 4 ? given - 96 : given;
  if (prefix < 0 || prefix > max) return undefined;
  return { bytes, prefix };
}

function mapped(v4: IpBytes): IpBytes {
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(v4, 12);
  return bytes;
}

/**
 * Whether `address` lies in `range`. An IPv6 range covers the IPv4 addresses whose mapped
 * form (`::ffff:a.b.c.d`) it holds, as node:net's BlockList has it.
 */
export function inRange(address: IpBytes, range: IpRange): boolean {
  if (address.length === 4 && range.bytes.length === 16) address = mapped(address);
  if (address.length !== range.bytes.length) return false;
  const full = range.prefix >> 3;
  for (let i = 0; i < full; i++) if (address[i] !== range.bytes[i]) return false;
  const rest = range.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[full]! & mask) === (range.bytes[full]! & mask);
}

/**
 * The key a per-address limit counts under: the address itself for IPv4, its /64 network
 * for IPv6, since one subscriber commonly holds a whole /64 and could otherwise change
 * address with every request.
 */
export function limitKey(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join('.');
  const network = new Uint8Array(16);
  network.set(bytes.subarray(0, 8));
  return `${formatIp(network)}/64`;
}
