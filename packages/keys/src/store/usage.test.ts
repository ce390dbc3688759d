import { describe, expect, it } from 'vitest';
import { MemoryKeyStore } from './memory.js';
import type { KeyStore, UsageDelta } from './types.js';
import { USAGE_SLICE, UsageRecorder } from './usage.js';

/** A store whose recordUsage logs its calls (and fails its `failOnCall`-th call). */
function loggingStore(failOnCall?: number) {
  const log: string[] = [];
  const written: UsageDelta[][] = [];
  const store = new MemoryKeyStore() as KeyStore;
  let calls = 0;
  store.recordUsage = async (batch) => {
    log.push(`write ${batch.length}`);
    if (++calls === failOnCall) throw new Error('store down');
    written.push([...batch]);
  };
  return { store, log, written };
}

describe('UsageRecorder', () => {
  it('flushes many keys in slices, with an event-loop turn between slices', async () => {
    const { store, log, written } = loggingStore();
    const recorder = new UsageRecorder(store);
    const keys = 2 * USAGE_SLICE + 7;
    for (let i = 0; i < keys; i++) recorder.record(`key_${i}`, 1000 + i);
    recorder.record('key_0', 5);
    const flushed = recorder.flush();
    setImmediate(() => log.push('turn'));
    await flushed;
    expect(log).toEqual([`write ${USAGE_SLICE}`, 'turn', `write ${USAGE_SLICE}`, 'write 7']);
    const all = written.flat();
    expect(new Set(all.map((u) => u.id)).size).toBe(keys);
    expect(all.find((u) => u.id === 'key_0')).toEqual({ id: 'key_0', count: 2, lastUsedAt: new Date(1000) });
    expect(recorder.pendingCount).toBe(0);
  });

  it('keeps only what a failed slice and the slices after it held, for the next flush', async () => {
    const { store, written } = loggingStore(2);
    const recorder = new UsageRecorder(store);
    const keys = 2 * USAGE_SLICE + 7;
    for (let i = 0; i < keys; i++) recorder.record(`key_${i}`, 1000 + i);
    await expect(recorder.flush()).rejects.toThrow('store down');
    expect(written.flat()).toHaveLength(USAGE_SLICE);
    // The first slice is stored: it must not be counted twice.
    expect(recorder.pendingCount).toBe(keys - USAGE_SLICE);
    recorder.record(`key_${keys - 1}`, 1);
    await recorder.flush();
    const all = written.flat();
    expect(all).toHaveLength(keys);
    expect(new Set(all.map((u) => u.id)).size).toBe(keys);
    expect(all.find((u) => u.id === `key_${keys - 1}`)?.count).toBe(2);
  });
});
