import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { KeywardConfigError } from 'keyward';

/** The hard deadline of one delivery, well under the dispatcher's 30 s lease. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Standard Webhooks signature: `v1,` + base64 HMAC-SHA256, keyed with the secret's bytes
 * (base64 after `whsec_`), of `<id>.<timestamp>.<body>`.
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

// Loopback, private, link-local, shared, documentation, multicast and reserved ranges: a
// webhook must not reach into the network keyward runs in.
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
// IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by
// that address instead, in `isPrivateAddress`.
for (const [net, bits] of [
  ['::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

/** The eight 16-bit groups of a valid IPv6 address (zone dropped, IPv4 tail folded in). */
function ipv6Groups(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const front = groups(head);
  if (rest === undefined) return front;
  const back = groups(rest);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64 or 6to4), if any. */
function embeddedIpv4(groups: readonly number[]): string | undefined {
  const dotted = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zero4 = g2 === 0 && g3 === 0 && g4 === 0;
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible; also :: and ::1).
  if (g0 === 0 && g1 === 0 && zero4 && (g5 === 0xffff || g5 === 0)) return dotted(g6, g7);
  // 64:ff9b::a.b.c.d (NAT64, well-known prefix).
  if (g0 === 0x64 && g1 === 0xff9b && zero4 && g5 === 0) return dotted(g6, g7);
  // 2002:AABB:CCDD::/48 (6to4).
  if (g0 === 0x2002) return dotted(g1, g2);
  return undefined;
}

/**
 * Whether an address is loopback, private or otherwise not on the public internet. An
 * IPv6 address that embeds an IPv4 address is judged by the IPv4 address.
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  const groups = ipv6Groups(address);
  const v4 = embeddedIpv4(groups);
  if (v4 !== undefined) return PRIVATE.check(v4, 'ipv4');
  return PRIVATE.check(groups.map((g) => g.toString(16)).join(':'), 'ipv6');
}

/** Checks a receiver URL's shape: http(s), no credentials. Throws KeywardConfigError. */
export function checkWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new KeywardConfigError('the webhook URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new KeywardConfigError('the webhook URL must be http or https');
  }
  if (url.username || url.password) throw new KeywardConfigError('the webhook URL must not hold credentials');
  return url;
}

/**
 * A DNS lookup that refuses private addresses unless allowed: the check applies to the
 * address connected to, so a name that resolves elsewhere later (DNS rebinding) is caught.
 */
function checkedLookup(allowPrivate: boolean): RequestOptions['lookup'] {
  return ((host: string, options: object, callback: (...args: unknown[]) => void) => {
    dnsLookup(host, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error);
      const usable = allowPrivate ? addresses : addresses.filter((a) => !isPrivateAddress(a.address));
      if (usable.length === 0) {
        return callback(
          Object.assign(
            new Error(`${host} resolves to a private address (allow with --allow-private-webhooks)`),
            {
              code: 'EPRIVATE',
            },
          ),
        );
      }
      if ((options as { all?: boolean }).all) callback(null, usable);
      else callback(null, usable[0]!.address, usable[0]!.family);
    });
  }) as RequestOptions['lookup'];
}

export interface DeliveryResult {
  readonly ok: boolean;
  /** The HTTP status, or 0 when none came. */
  readonly status: number;
  /** Why it failed, for `webhooks list` (never a secret). */
  readonly error?: string;
}

/**
 * POSTs one signed event. Redirects are not followed (a 3xx is a failure), the address is
 * checked as connected, and the whole exchange (lookup, connect, TLS, request, the
 * answer's headers) has a hard deadline, 10 s by default: a receiver that answers a byte
 * at a time is cut off like one that never answers. Only a 2xx is success.
 */
export function deliver(
  url: string,
  secret: string,
  message: { id: string; timestamp: number; body: string },
  allowPrivate: boolean,
  deadlineMs: number = DELIVERY_TIMEOUT_MS,
): Promise<DeliveryResult> {
  const target = checkWebhookUrl(url);
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0 && !allowPrivate && isPrivateAddress(literal)) {
    return Promise.resolve({ ok: false, status: 0, error: `${literal} is a private address` });
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (result: DeliveryResult) => {
      clearTimeout(timer);
      resolve(result);
    };
    const req = send(
      target,
      {
        method: 'POST',
        lookup: checkedLookup(allowPrivate),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'keyward-webhooks',
          'webhook-id': message.id,
          'webhook-timestamp': String(message.timestamp),
          'webhook-signature': signWebhook(secret, message.id, message.timestamp, message.body),
        },
      },
      (res) => {
        // Nothing of the answer is kept but its status; the body is not waited for.
        res.destroy();
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        settle(
          ok
            ? { ok, status }
            : {
                ok,
                status,
                error:
                  status >= 300 && status < 400
                    ? `HTTP ${status} (redirects are not followed)`
                    : `HTTP ${status}`,
              },
        );
      },
    );
    timer = setTimeout(() => req.destroy(new Error(`no answer within ${deadlineMs / 1000} s`)), deadlineMs);
    req.on('error', (error: NodeJS.ErrnoException) =>
      settle({
        ok: false,
        status: 0,
        error: error.code === 'EPRIVATE' ? error.message : `${error.code ?? error.message}`,
      }),
    );
    req.end(message.body);
  });
}
