/**
 * What every benchmark server shares: its configuration (from the harness, in
 * `BENCH_CONFIG`), the response bodies, and the ready line the harness waits for.
 * Each server is its own process, started by bench/lib/servers.ts.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StoreTarget } from '../lib/keystore.js';

export interface ServerConfig {
  /** The one static key of the peers and of the staticKeys keyward servers (43 characters). */
  readonly key: string;
  /** Where keyward servers get keys: `static` (staticKeys) or `store` (the SQLite key store). */
  readonly keys: 'static' | 'store';
  /** The key store (store servers) and its pepper. */
  readonly store?: StoreTarget;
  readonly pepper?: string;
  /** keyward-hono.ts only: `apiKeyAuth` middleware (default) or `protect(guard, handler)`. */
  readonly form?: 'middleware' | 'protect';
}

export function config(): ServerConfig {
  const raw = process.env.BENCH_CONFIG;
  if (!raw) throw new Error('BENCH_CONFIG is not set: benchmark servers are started by `npm run bench`');
  return JSON.parse(raw) as ServerConfig;
}

/** The same payloads on every server, so response sizes match across frameworks. */
export const PUBLIC_BODY = { status: 'ok' } as const;
export const SECURE_BODY = { message: 'You have access to secure data' } as const;
export const PUBLIC_PATH = '/health';
export const SECURE_PATH = '/secure-data';
/** Public, unmeasured: counters the harness reads between cases. */
export const STATS_PATH = '/__bench/stats';

/**
 * Tells the harness the port. Source maps are switched off once everything is loaded, in
 * case a server is run by hand through tsx, which turns them on: they make every captured
 * stack trace dearer than in production (some peers build an Error per 401).
 */
export function announce(port: number): void {
  process.setSourceMapsEnabled(false);
  process.stdout.write(`BENCH_READY ${JSON.stringify({ port })}\n`);
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The harness holds our stdin open: if it dies without stopping us, we stop too.
  process.stdin.on('end', stop).resume();
}

/** Listens on 127.0.0.1, an ephemeral port, and announces it. */
export function listen(server: Server): void {
  server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
}
