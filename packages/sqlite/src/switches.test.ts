import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Switches } from './switches.js';

function connection(synchronous: 'FULL' | 'NORMAL', busyMs: number) {
  const db = new Database(':memory:', { timeout: busyMs });
  db.pragma(`synchronous = ${synchronous}`);
  const read = () => ({
    synchronous: db.pragma('synchronous', { simple: true }),
    busy: db.pragma('busy_timeout', { simple: true }),
  });
  return { db, read };
}

const FULL = 2;
const NORMAL = 1;

describe('Switches', () => {
  it('leaves the connection as it was when prepared, FULL or NORMAL', () => {
    for (const [mode, level] of [
      ['FULL', FULL],
      ['NORMAL', NORMAL],
    ] as const) {
      const { db, read } = connection(mode, 1234);
      new Switches(db, 1234, mode === 'FULL');
      expect(read()).toEqual({ synchronous: level, busy: 1234 });
      db.close();
    }
  });

  it('relaxes a FULL connection to NORMAL for one call, and restores it when the call throws', () => {
    const { db, read } = connection('FULL', 500);
    const s = new Switches(db, 500, true);
    expect(s.relaxed(() => read().synchronous)).toBe(NORMAL);
    expect(read().synchronous).toBe(FULL);
    expect(() =>
      s.relaxed(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(read().synchronous).toBe(FULL);
    db.close();
  });

  it('never switches a NORMAL connection', () => {
    const { db, read } = connection('NORMAL', 500);
    const s = new Switches(db, 500, false);
    expect(s.relaxed(() => read().synchronous)).toBe(NORMAL);
    expect(read().synchronous).toBe(NORMAL);
    db.close();
  });

  it('drops the busy timeout for one call and restores it, also when the call throws', () => {
    const { db, read } = connection('FULL', 750);
    const s = new Switches(db, 750, true);
    expect(s.withoutWaiting(() => read().busy)).toBe(0);
    expect(read().busy).toBe(750);
    expect(() =>
      s.withoutWaiting(() => {
        throw new Error('busy');
      }),
    ).toThrow('busy');
    expect(read().busy).toBe(750);
    db.close();
  });
});
