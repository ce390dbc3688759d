import { KeyManager, type KeyManagerOptions, MemoryKeyStore } from '@keyward/keys';
import type { KeyStore } from '@keyward/keys/store';
import { PEPPER } from './temp.js';

/** Counts calls per store method, to prove what the hot path does not do. */
export function counting<S extends KeyStore>(store: S): { store: S; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

/** A controllable clock. */
export function fakeClock(start = Date.UTC(2030, 0, 1)) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** A manager on a counting memory store with a fake clock and no background timers. */
export async function memoryManager(options: Partial<KeyManagerOptions> = {}) {
  const { store, calls } = counting(new MemoryKeyStore());
  const clock = fakeClock();
  const manager = await KeyManager.open({
    store,
    pepper: PEPPER,
    now: clock.now,
    pollIntervalMs: 0,
    flushIntervalMs: 0,
    ...options,
  });
  return { manager, store, calls, clock };
}
