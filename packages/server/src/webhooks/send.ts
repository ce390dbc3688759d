import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { KeywardConfigError } from 'keyward';

/** How long a receiver has to answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Standard Webhooks signature: `v1,` + base64 HMAC-SHA256, keyed with the secret's bytes
 * (base64 after `whsec_`), of `<id>.<timestamp>.<body>`.
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

// Loopback, private, link-local, shared, multicast and reserved ranges: a webhook must not
// reach into the network keyward runs in.
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

/** Whether an address is loopback, private or otherwise not on the public internet. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
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
 * checked as connected, and the answer is awaited at most 10 s. Only a 2xx is success.
 */
export function deliver(
  url: string,
  secret: string,
  message: { id: string; timestamp: number; body: string },
  allowPrivate: boolean,
): Promise<DeliveryResult> {
  const target = checkWebhookUrl(url);
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0 && !allowPrivate && isPrivateAddress(literal)) {
    return Promise.resolve({ ok: false, status: 0, error: `${literal} is a private address` });
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      target,
      {
        method: 'POST',
        lookup: checkedLookup(allowPrivate),
        timeout: DELIVERY_TIMEOUT_MS,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'keyward-webhooks',
          'webhook-id': message.id,
          'webhook-timestamp': String(message.timestamp),
          'webhook-signature': signWebhook(secret, message.id, message.timestamp, message.body),
        },
      },
      (res) => {
        // Nothing of the answer is kept but its status.
        res.resume();
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        resolve(
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
    req.on('timeout', () => req.destroy(new Error(`no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({
        ok: false,
        status: 0,
        error: error.code === 'EPRIVATE' ? error.message : `${error.code ?? error.message}`,
      }),
    );
    req.end(message.body);
  });
}
