import { describe, expect, it } from 'vitest';
import { createReadiness, readinessBody } from './ready.js';

const never = () => new Promise<never>(() => {});

describe('createReadiness', () => {
  it('names what is down within the timeout, even when a probe hangs', async () => {
    const ready = createReadiness(
      [
        { name: 'store', required: true, probe: never },
        { name: 'redis', required: false, probe: () => Promise.reject(new Error('down')) },
      ],
      { timeoutMs: 50, cacheMs: 0 },
    );
    const started = performance.now();
    const r = await ready();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(r).toMatchObject({ ready: false, down: ['store'], degraded: ['redis'] });
    expect(readinessBody(r)).toEqual({ status: 'unavailable', down: ['store'], degraded: ['redis'] });
  });

  it('is ready when optional dependencies are down; a probe that throws counts as down', async () => {
    const ready = createReadiness(
      [
        { name: 'store', required: true, probe: async () => 1 },
        {
          name: 'redis',
          required: false,
          probe: () => {
            throw new Error('sync');
          },
        },
      ],
      { cacheMs: 0 },
    );
    expect(readinessBody(await ready())).toEqual({ status: 'ready', degraded: ['redis'] });
  });

  it('shares one check between callers and reuses its answer for cacheMs', async () => {
    let calls = 0;
    let up = true;
    const ready = createReadiness(
      [
        {
          name: 'store',
          required: true,
          probe: async () => {
            calls++;
            if (!up) throw new Error('down');
          },
        },
      ],
      { cacheMs: 100 },
    );
    const answers = await Promise.all([ready(), ready(), ready()]);
    expect(calls).toBe(1);
    expect(answers.every((a) => a.ready)).toBe(true);
    up = false;
    expect((await ready()).ready).toBe(true);
    expect(calls).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    expect((await ready()).ready).toBe(false);
    expect(calls).toBe(2);
  });
});
