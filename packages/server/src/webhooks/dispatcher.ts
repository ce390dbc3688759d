import { randomBytes } from 'node:crypto';
import { type KeyManager, OwnerNotFoundError } from '@keyward/keys';
import type { KeyChange } from '@keyward/keys/store';
import { ownerJson } from '../cli/owners.js';
import { recordJson } from '../cli/render.js';
import {
  type DeliveryState,
  listEndpoints,
  type MetaStore,
  metaStore,
  readState,
  stateName,
  WEBHOOK_EVENTS,
  type WebhookEndpoint,
  type WebhookEvent,
} from './registry.js';
import { DELIVERY_TIMEOUT_MS, type DeliveryResult, deliver } from './send.js';

/** How often each endpoint is looked at for new events. */
export const POLL_MS = 250;
/** First retry after this; each next one after twice as long, at most an hour apart. */
export const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 60 * 60 * 1000;
/** An event failing this long is given up on, counted as failed, and the next one goes. */
export const GIVE_UP_MS = 24 * 60 * 60 * 1000;
/** How long an instance holds an endpoint while delivering (renewed with each event). */
const LEASE_MS = 30_000;
/** At most this many endpoints are delivered to at once, each in its own order. */
export const MAX_CONCURRENT_ENDPOINTS = 16;
/** Events read per look. */
const BATCH = 100;
/** How often one instance looks for keys about to expire (for `key.expiring`). */
export const EXPIRING_SCAN_MS = 60 * 60 * 1000;
/** Default of {@link DispatcherOptions.expiringNoticeMs}: a week. */
export const DEFAULT_EXPIRING_NOTICE_MS = 7 * 24 * 60 * 60 * 1000;
const EXPIRING_SCAN = 'webhook_expiring_scan';
/** How often one instance looks for keys' uses and owners' credits at 80 or 100 % spent (for `usage.threshold`). */
export const THRESHOLD_SCAN_MS = 60 * 1000;
const THRESHOLD_SCAN = 'webhook_threshold_scan';

export interface DispatcherOptions {
  readonly manager: KeyManager;
  /** Deliver to loopback and private addresses too (`--allow-private-webhooks`). */
  readonly allowPrivate?: boolean;
  readonly now?: () => number;
  /** Told about events given up on (never a secret). */
  readonly log?: (line: string) => void;
  /** The sender, for tests. */
  readonly send?: typeof deliver;
  /** How long before a key expires `key.expiring` is sent (default 7 days). */
  readonly expiringNoticeMs?: number;
  /**
   * The hard deadline of one delivery (default 10 s); it must stay well under the 30 s
   * lease, so no delivery outlives the lease and gets sent again by another instance.
   */
  readonly deliveryTimeoutMs?: number;
  /** Told each attempt's end: delivered, to be retried, or given up on (metrics). */
  readonly onDelivery?: (outcome: WebhookDeliveryOutcome) => void;
}

/** How one delivery attempt ended. */
export type WebhookDeliveryOutcome = 'delivered' | 'retried' | 'failed';

/** The owner an `owner.*` event is about, as `owners show --json` prints it; only its name once deleted. */
async function ownerData(manager: KeyManager, name: unknown): Promise<Record<string, unknown>> {
  if (typeof name !== 'string') return { name: null };
  const owner = await manager.getOwner(name).catch((error: unknown) => {
    if (error instanceof OwnerNotFoundError) return undefined;
    throw error;
  });
  return owner ? ownerJson(owner) : { name };
}

/**
 * The Standard Webhooks message of an event: `{type, timestamp, data}` with the key
 * record (or, for `owner.*`, the owner record), never the key.
 */
export async function eventMessage(
  manager: KeyManager,
  change: KeyChange,
  type: WebhookEvent,
): Promise<{ id: string; body: string }> {
  const [entry] = await manager.store.audit({ before: change.seq + 1, limit: 1 });
  const changes = entry?.changes ?? {};
  let subject: Record<string, unknown>;
  if (type.startsWith('owner.')) {
    subject = { owner: await ownerData(manager, changes.owner) };
  } else if (type === 'usage.threshold') {
    const detail = entry?.detail ?? {};
    // A key's limited uses, or (no key) an owner's shared credits.
    const record = change.keyId === null ? undefined : await manager.store.get(change.keyId);
    subject = {
      ...(change.keyId === null
        ? { owner: await ownerData(manager, changes.owner) }
        : { key: record ? recordJson(record) : { id: change.keyId } }),
      threshold: Number(detail.threshold),
      remaining: Number(detail.remaining),
      total: Number(detail.total),
    };
  } else {
    const record = change.keyId === null ? undefined : await manager.store.get(change.keyId);
    subject = { key: record ? recordJson(record) : { id: change.keyId } };
  }
  const data = {
    ...subject,
    actor: entry?.actor ?? null,
    changes,
    ...(entry?.detail ? { detail: entry.detail } : {}),
  };
  const timestamp = (entry?.at ?? new Date()).toISOString();
  return { id: `msg_${change.seq}`, body: JSON.stringify({ type, timestamp, data }) };
}

/**
 * Delivers the audit log to webhook endpoints. The audit log is the outbox: every change
 * commits its entry in the same transaction, so no change is missed, and each endpoint's
 * place in it (`DeliveryState.cursor`) moves only once an event is delivered or given up
 * on. One instance at a time delivers to an endpoint (a lease taken by compare-and-set in
 * the store), in order, so two instances never both send an event; different endpoints are
 * delivered to concurrently, and each delivery has a hard deadline well under the lease,
 * so a hung receiver holds up only its own endpoint. An instance that dies
 * mid-delivery leaves the lease to expire, and the next one may send that event again
 * under the same `webhook-id`, which receivers use to drop repeats.
 */
export class WebhookDispatcher {
  readonly #manager: KeyManager;
  readonly #store: MetaStore;
  readonly #owner = randomBytes(6).toString('hex');
  readonly #allowPrivate: boolean;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly #send: typeof deliver;
  readonly #expiringMs: number;
  readonly #deadlineMs: number;
  readonly #onDelivery: ((outcome: WebhookDeliveryOutcome) => void) | undefined;
  /** Endpoints being delivered to by this instance, and those deliveries. */
  readonly #busy = new Map<string, Promise<void>>();
  #looks = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #paused = false;

  constructor(options: DispatcherOptions) {
    this.#manager = options.manager;
    this.#store = metaStore(options.manager.store);
    this.#allowPrivate = options.allowPrivate ?? false;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    this.#send = options.send ?? deliver;
    this.#expiringMs = options.expiringNoticeMs ?? DEFAULT_EXPIRING_NOTICE_MS;
    this.#deadlineMs = options.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS;
    this.#onDelivery = options.onDelivery;
    if (!(this.#deadlineMs > 0 && this.#deadlineMs <= LEASE_MS / 2)) {
      throw new RangeError(`the delivery deadline must be over 0 and at most ${LEASE_MS / 2000} s`);
    }
  }

  start(): void {
    const resumed = () => {
      if (this.#paused) this.#log('keyward: webhook delivery resumed');
      this.#paused = false;
    };
    const paused = (error: unknown) => {
      // Once per outage, not every 250 ms.
      if (!this.#paused) {
        this.#log(`keyward: webhook delivery paused (${error instanceof Error ? error.message : 'error'})`);
      }
      this.#paused = true;
    };
    this.#timer ??= setInterval(() => {
      // One look at a time; the deliveries it starts run on without holding up the next
      // look, so a slow receiver delays only its own endpoint.
      this.#running ??= this.#look()
        .then((started) => {
          if (started.length === 0) resumed();
          for (const delivery of started) delivery.then(resumed, paused);
        }, paused)
        .finally(() => {
          this.#running = undefined;
        });
    }, POLL_MS);
    this.#timer.unref();
  }

  /** Stops looking; resolves once the deliveries in progress have ended. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await Promise.allSettled([...this.#busy.values()]);
  }

  /** Looks at every endpoint once and delivers what is due; resolves once that is done. */
  async tick(): Promise<void> {
    await Promise.all(await this.#look());
  }

  /**
   * Starts delivering to each endpoint with something due that this instance is not
   * already delivering to, at most {@link MAX_CONCURRENT_ENDPOINTS} at once; the
   * deliveries started are returned, not awaited.
   */
  async #look(): Promise<Promise<void>[]> {
    const endpoints = await listEndpoints(this.#store);
    const wanted = (event: WebhookEvent) => endpoints.some((e) => e.events.includes(event));
    if (wanted('key.expiring')) {
      await this.#scan(EXPIRING_SCAN, EXPIRING_SCAN_MS, () =>
        this.#manager.noticeExpiring(this.#expiringMs, { actor: 'webhooks' }),
      );
    }
    if (wanted('usage.threshold')) {
      await this.#scan(THRESHOLD_SCAN, THRESHOLD_SCAN_MS, () =>
        this.#manager.noticeThresholds({ actor: 'webhooks' }),
      );
    }
    const started: Promise<void>[] = [];
    // Each look starts one further along, so endpoints past the limit get their turn.
    const first = this.#looks++ % Math.max(1, endpoints.length);
    for (const endpoint of [...endpoints.slice(first), ...endpoints.slice(0, first)]) {
      if (this.#busy.size >= MAX_CONCURRENT_ENDPOINTS) break;
      if (this.#busy.has(endpoint.id)) continue;
      const delivery = this.#serve(endpoint).finally(() => this.#busy.delete(endpoint.id));
      this.#busy.set(endpoint.id, delivery);
      started.push(delivery);
    }
    return started;
  }

  /**
   * Runs `scan` at most every `intervalMs`, on whichever instance first moves the scan
   * time `name` forward by compare-and-set. The scans write audit entries (notices),
   * delivered like any other event:
   * - hourly, `expiring` for each key expiring within the notice (`key.expiring`);
   * - every minute, `threshold` for each key whose limited uses, and each owner whose
   *   shared credits, reached 80 or 100 % spent in the current period, once per
   *   threshold and period (`usage.threshold`).
   */
  async #scan(name: string, intervalMs: number, scan: () => Promise<unknown>): Promise<void> {
    const last = await this.#store.readMeta(name);
    const now = this.#now();
    if (last !== undefined && now - Number(last) < intervalMs) return;
    if (!(await this.#store.swapMeta(name, last, String(now)))) return;
    await scan();
  }

  async #serve(endpoint: WebhookEndpoint): Promise<void> {
    const read = await readState(this.#store, endpoint.id);
    if (!read) return;
    let { text, state } = read;
    const now = this.#now();
    if (state.lease && state.lease.owner !== this.#owner && state.lease.until > now) return;
    if (state.nextAt > now) return;
    const batch = await this.#store.changesSince(state.cursor, BATCH);
    // Nothing new: no write at all.
    if (batch.changes.length === 0) return;
    const save = async (next: DeliveryState) => {
      const nextText = JSON.stringify(next);
      if (!(await this.#store.swapMeta(stateName(endpoint.id), text, nextText))) return false;
      text = nextText;
      state = next;
      return true;
    };
    const lease = () => ({ owner: this.#owner, until: this.#now() + LEASE_MS });
    if (!(await save({ ...state, lease: lease() }))) return;
    let cursor = state.cursor;
    for (const change of batch.changes) {
      const type = WEBHOOK_EVENTS[change.action as keyof typeof WEBHOOK_EVENTS];
      if (type === undefined || !endpoint.events.includes(type)) {
        cursor = change.seq;
        continue;
      }
      const message = await eventMessage(this.#manager, change, type);
      const result = await this.#send(
        endpoint.url,
        endpoint.secret,
        { ...message, timestamp: Math.floor(this.#now() / 1000) },
        this.#allowPrivate,
        this.#deadlineMs,
      );
      const next = this.#after(state, result, change.seq, cursor);
      this.#onDelivery?.(result.ok ? 'delivered' : next.failed > state.failed ? 'failed' : 'retried');
      if (next.failed > state.failed) {
        this.#log(
          `keyward: webhook ${endpoint.id} gave up on event ${message.id} (${type}) after 24 h of failures (${result.error})`,
        );
      }
      // Lost the lease (it expired and another instance took it): stop at once.
      if (!(await save({ ...next, lease: lease() }))) return;
      cursor = state.cursor;
      if (!result.ok && state.cursor < change.seq) break;
    }
    await save({ ...state, cursor: Math.max(cursor, state.cursor), lease: null });
  }

  /** The state after an attempt at the event `seq` (the events before it up to `cursor` were skipped). */
  #after(state: DeliveryState, result: DeliveryResult, seq: number, cursor: number): DeliveryState {
    const now = this.#now();
    // Done with the event, either way: the next one is tried at once.
    const movedOn = { ...state, cursor: seq, attempts: 0, failingSince: null, nextAt: 0 };
    if (result.ok) return { ...movedOn, delivered: state.delivered + 1, lastError: null };
    const failingSince = state.failingSince ?? now;
    const error = result.error ?? `HTTP ${result.status}`;
    if (now - failingSince >= GIVE_UP_MS) return { ...movedOn, failed: state.failed + 1, lastError: error };
    const attempts = state.attempts + 1;
    const delay = Math.min(RETRY_BASE_MS * 2 ** (attempts - 1), RETRY_MAX_MS);
    return { ...state, cursor, attempts, failingSince, nextAt: now + delay, lastError: error };
  }
}
