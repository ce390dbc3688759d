import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { KeywardConfigError } from 'keyward';
import { printable } from '../cli/render.js';
import { listEndpoints, type MetaStore, readState, type WebhookEndpoint } from './registry.js';
import { checkWebhookUrl, type DeliveryResult, deliver, isPrivateAddress } from './send.js';

/**
 * Checks a receiver address: http or https, and not on a loopback or private address (as
 * it resolves now) unless `allowPrivate`. Resolves with the normalised URL.
 */
export async function checkReceiver(text: string, allowPrivate: boolean): Promise<string> {
  const url = checkWebhookUrl(text);
  if (allowPrivate) return url.toString();
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    throw new KeywardConfigError(`cannot resolve ${printable(host)}`);
  }
  if (addresses.some(isPrivateAddress)) {
    throw new KeywardConfigError(
      `${printable(host)} is a loopback or private address; webhooks go to public receivers unless --allow-private-webhooks`,
    );
  }
  return url.toString();
}

/** An endpoint as `webhooks list` and `GET /v1/webhooks` show it: its deliveries, never its secret. */
export interface EndpointView {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly createdAt: string;
  readonly createdBy: string | null;
  readonly delivered: number;
  readonly failed: number;
  readonly retrying: boolean;
  readonly attempts: number;
  readonly nextAttemptAt: string | null;
  readonly lastError: string | null;
}

/** Every endpoint with its delivery state. */
export async function listEndpointViews(store: MetaStore): Promise<EndpointView[]> {
  return Promise.all(
    (await listEndpoints(store)).map(async (e) => {
      const state = (await readState(store, e.id))?.state;
      return {
        id: e.id,
        url: e.url,
        events: e.events,
        createdAt: e.createdAt,
        createdBy: e.createdBy ?? null,
        delivered: state?.delivered ?? 0,
        failed: state?.failed ?? 0,
        retrying: (state?.attempts ?? 0) > 0,
        attempts: state?.attempts ?? 0,
        nextAttemptAt: state?.nextAt ? new Date(state.nextAt).toISOString() : null,
        lastError: state?.lastError ?? null,
      };
    }),
  );
}

/** Sends a signed `webhook.test` event to an endpoint now (not through the outbox). */
export function sendTestEvent(endpoint: WebhookEndpoint, allowPrivate: boolean): Promise<DeliveryResult> {
  const body = JSON.stringify({
    type: 'webhook.test',
    timestamp: new Date().toISOString(),
    data: { webhook: endpoint.id },
  });
  const message = {
    id: `msg_test_${randomBytes(8).toString('hex')}`,
    timestamp: Math.floor(Date.now() / 1000),
    body,
  };
  return deliver(endpoint.url, endpoint.secret, message, allowPrivate);
}
