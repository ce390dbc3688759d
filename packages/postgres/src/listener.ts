import type { Client, ClientConfig } from 'pg';
import { CHANGES_CHANNEL } from './names.js';

type ClientClass = new (config: ClientConfig) => Client;

export interface ListenerOptions {
  /** The pg `Client` class (loaded by the store). */
  Client: ClientClass;
  config: ClientConfig;
  /** Only notifications carrying this payload (the store's schema) count. */
  schema: string;
  /** Called for each notification, and once after every (re)connection. */
  onChange: () => void;
  /** Told when the connection is lost and when it is back. */
  onState?: (state: 'listening' | 'lost', error?: unknown) => void;
  /** Longest wait between reconnection attempts. Default 2000 ms. */
  maxBackoffMs?: number;
}

/**
 * `LISTEN keyward_changes` on a connection of its own (a pooled one would lose the LISTEN
 * when returned). PostgreSQL delivers a NOTIFY only when its transaction commits, so what
 * is heard is always committed. The connection is re-established by itself after a
 * server restart, and `onChange` is called once then, to catch up on what was missed.
 */
export class ChangeListener {
  readonly #o: ListenerOptions;
  #client: Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #stopped = false;
  #listening = false;

  constructor(options: ListenerOptions) {
    this.#o = options;
  }

  get listening(): boolean {
    return this.#listening;
  }

  /** Resolves after the first attempt (listening or not: later attempts follow by themselves). */
  start(): Promise<void> {
    return this.#connect();
  }

  async #connect(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const client = new this.#o.Client(this.#o.config);
    this.#client = client;
    let lost = false;
    const onLost = (error?: unknown) => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => {});
      if (this.#stopped) return;
      if (this.#listening) this.#o.onState?.('lost', error);
      this.#listening = false;
      this.#retry();
    };
    // Without an 'error' listener pg would throw an idle connection's error at the process.
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload === this.#o.schema) this.#o.onChange();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      onLost(error);
      return;
    }
    if (lost || this.#stopped) return;
    this.#attempt = 0;
    this.#listening = true;
    this.#o.onState?.('listening');
    this.#o.onChange();
  }

  #retry(): void {
    const max = this.#o.maxBackoffMs ?? 2000;
    const delay = Math.min(max, 100 * 2 ** this.#attempt++);
    this.#timer = setTimeout(() => void this.#connect(), delay);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#listening = false;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}
