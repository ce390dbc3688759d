/**
 * The verifier a keyward benchmark server uses: staticKeys on the one static key, or the
 * SQLite key store through bench/lib/keystore.ts, with a count of store lookups that the
 * harness reads from the stats route.
 */

import type { Verifier } from 'keyward';
import { staticKeys } from 'keyward';
import { openStoreVerifier } from '../lib/keystore.js';
import type { ServerConfig } from './common.js';

export interface BenchVerifier {
  readonly verify: Verifier<unknown>;
  /** Store lookups so far (0 for static keys). */
  lookups(): number;
}

export async function benchVerifier(cfg: ServerConfig): Promise<BenchVerifier> {
  if (cfg.keys === 'static') return { verify: staticKeys([cfg.key]), lookups: () => 0 };
  if (!cfg.store || !cfg.pepper) throw new Error('store servers need a store and its pepper');
  return openStoreVerifier(cfg.store, cfg.pepper);
}
