import { randomBytes } from 'node:crypto';
import { KeyStoreError } from '@keyward/keys';
import type { KeyStore } from '@keyward/keys/store';
import { KeywardConfigError } from 'keyward';

/** The events a webhook endpoint may ask for; each is an audit action of the key store. */
export const WEBHOOK_EVENTS = Object.freeze({
  create: 'key.created',
  import: 'key.created',
  update: 'key.updated',
  revoke: 'key.revoked',
  rotate: 'key.rotated',
  disable: 'key.disabled',
  enable: 'key.enabled',
  delete: 'key.deleted',
  leak: 'key.leaked',
  expiring: 'key.expiring',
  owner_create: 'owner.created',
  owner_update: 'owner.updated',
  owner_delete: 'owner.deleted',
  threshold: 'usage.threshold',
} as const);

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[keyof typeof WEBHOOK_EVENTS];
/** Every event name, in the order of {@link WEBHOOK_EVENTS}. */
export const EVENT_NAMES: readonly string[] = [...new Set(Object.values(WEBHOOK_EVENTS))];

/** A receiver and what it is sent. The secret signs every delivery (Standard Webhooks). */
export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly events: readonly WebhookEvent[];
  /** `whsec_` + base64 of 32 random bytes. */
  readonly secret: string;
  readonly createdAt: string;
  /** Who registered it: the admin API's root key id (absent when added from the CLI). */
  readonly createdBy?: string;
}

/**
 * Where an endpoint's deliveries stand. Events are delivered in audit order, one at a
 * time: `cursor` is the audit `seq` of the last event done with (delivered, skipped, or
 * given up on after 24 hours of retries).
 */
export interface DeliveryState {
  readonly cursor: number;
  /** Failed attempts at the event after the cursor. */
  readonly attempts: number;
  /** When the first attempt at that event failed (ms), for the 24-hour limit. */
  readonly failingSince: number | null;
  /** Not before (ms): the backoff after a failed attempt. */
  readonly nextAt: number;
  readonly delivered: number;
  /** Events given up on. */
  readonly failed: number;
  readonly lastError: string | null;
  /** The instance delivering now, until when (ms): one at a time, so nothing goes twice. */
  readonly lease: { readonly owner: string; readonly until: number } | null;
}

const LIST = 'webhooks';
export const stateName = (id: string) => `webhook_state:${id}`;
const ID = /^wh_[0-9a-f]{16}$/;

/** Exit code 3, naming the id only when it has a webhook id's shape (it might be a pasted secret). */
export function webhookNotFound(id: string): KeyStoreError {
  return new KeyStoreError(
    'key_not_found',
    ID.test(id) ? `no webhook with id "${id}"` : 'not a webhook id (wh_...)',
  );
}

/** The store settings webhooks live in: a store without them (memory) cannot have webhooks. */
export type MetaStore = KeyStore & Required<Pick<KeyStore, 'readMeta' | 'swapMeta'>>;

export function metaStore(store: KeyStore): MetaStore {
  if (!store.readMeta || !store.swapMeta) {
    throw new KeywardConfigError('webhooks need a SQLite or PostgreSQL key store');
  }
  return store as MetaStore;
}

/** The event groups (`key.*`, `owner.*`, `usage.*`), each standing for its events. */
export const EVENT_GROUPS: readonly string[] = [
  ...new Set(EVENT_NAMES.map((n) => `${n.slice(0, n.indexOf('.'))}.*`)),
];

/**
 * Checks the `--events` list: known names, a group such as `key.*` or `owner.*` (the
 * events of that group known now), or `*` for all.
 */
export function parseEvents(value: string): WebhookEvent[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 1 && names[0] === '*') return EVENT_NAMES as WebhookEvent[];
  if (names.length === 0) throw new KeywardConfigError('name at least one event');
  const events: string[] = [];
  for (const n of names) {
    if (EVENT_GROUPS.includes(n)) {
      events.push(...EVENT_NAMES.filter((e) => e.startsWith(n.slice(0, -1))));
    } else if (EVENT_NAMES.includes(n)) {
      events.push(n);
    } else {
      throw new KeywardConfigError(
        `unknown event "${n.slice(0, 40)}" (known: ${EVENT_NAMES.join(', ')}, ${EVENT_GROUPS.join(', ')}, or *)`,
      );
    }
  }
  return [...new Set(events)] as WebhookEvent[];
}

async function readList(
  store: MetaStore,
): Promise<{ text: string | undefined; endpoints: WebhookEndpoint[] }> {
  const text = await store.readMeta(LIST);
  return { text, endpoints: text ? (JSON.parse(text) as WebhookEndpoint[]) : [] };
}

/** Changes the endpoint list by compare-and-set, retrying when another process changed it first. */
async function changeList(store: MetaStore, change: (list: WebhookEndpoint[]) => WebhookEndpoint[]) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { text, endpoints } = await readList(store);
    if (await store.swapMeta(LIST, text, JSON.stringify(change(endpoints)))) return;
  }
  throw new Error('the webhook list changed too often to update; try again');
}

export function listEndpoints(store: MetaStore): Promise<WebhookEndpoint[]> {
  return readList(store).then((r) => r.endpoints);
}

/** Registers an endpoint; it is sent the events audited from now on. */
export async function addEndpoint(
  store: MetaStore,
  url: string,
  events: readonly WebhookEvent[],
  now = Date.now(),
  createdBy?: string,
  actor = createdBy ?? 'api',
): Promise<WebhookEndpoint> {
  const endpoint: WebhookEndpoint = {
    id: `wh_${randomBytes(8).toString('hex')}`,
    url,
    events: [...events],
    secret: `whsec_${randomBytes(32).toString('base64')}`,
    createdAt: new Date(now).toISOString(),
    ...(createdBy === undefined ? {} : { createdBy }),
  };
  const { latest } = await store.changesSince(Number.MAX_SAFE_INTEGER, 1);
  const state: DeliveryState = {
    cursor: latest,
    attempts: 0,
    failingSince: null,
    nextAt: 0,
    delivered: 0,
    failed: 0,
    lastError: null,
    lease: null,
  };
  await store.swapMeta(stateName(endpoint.id), undefined, JSON.stringify(state));
  await changeList(store, (list) => [...list, endpoint]);
  await store.recordAudit?.(
    { actor, at: new Date(now), action: 'webhook_add' },
    { webhook: endpoint.id, url: auditedUrl(url), events: endpoint.events },
  );
  return endpoint;
}

/** A receiver's address as the audit log keeps it: no user info nor query, which may hold tokens. */
function auditedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid)';
  }
}

/** Removes an endpoint; resolves with whether it existed. Nothing more is sent to it. */
export async function removeEndpoint(store: MetaStore, id: string, actor = 'api'): Promise<boolean> {
  if (!ID.test(id)) return false;
  let found = false;
  await changeList(store, (list) => {
    found = list.some((e) => e.id === id);
    return list.filter((e) => e.id !== id);
  });
  if (found) await store.recordAudit?.({ actor, at: new Date(), action: 'webhook_remove' }, { webhook: id });
  return found;
}

/** An endpoint's delivery state, with its stored text (for compare-and-set). */
export async function readState(
  store: MetaStore,
  id: string,
): Promise<{ text: string; state: DeliveryState } | undefined> {
  const text = await store.readMeta(stateName(id));
  return text === undefined ? undefined : { text, state: JSON.parse(text) as DeliveryState };
}
