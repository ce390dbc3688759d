/**
 * Property tests for the parsers that take operator and client input in the key store:
 * durations, rate limits, scopes, and the key checksum against transpositions (the key
 * format's own tests cover generation and single-character changes). Input is arbitrary:
 * the only acceptable failure is a KeyInputError with a message, never another error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyInputError } from '../../packages/keys/src/domain/errors.js';
import { keyFormat } from '../../packages/keys/src/domain/format.js';
import { checkScopes, parseDuration, parseRateLimit } from '../../packages/keys/src/domain/input.js';
import { createGuard } from '../../packages/keyward/src/core/guard.js';
import { apiKeyHeader } from '../../packages/keyward/src/core/schemes.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const unit = fc.constantFrom(...(Object.keys(UNIT_MS) as (keyof typeof UNIT_MS)[]));
const anyText = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }));

/** Runs `fn`; returns its value, or undefined when it threw a KeyInputError (anything else fails). */
function parsedOrRefused<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyInputError);
    expect((error as Error).message.length).toBeGreaterThan(0);
    return undefined;
  }
}

describe('parseDuration (properties)', () => {
  it('reads <n><unit> as n units, with surrounding spaces allowed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 36_500 }), unit, fc.boolean(), (n, u, pad) => {
        const text = pad ? ` ${n}${u} ` : `${n}${u}`;
        expect(parseDuration(text)).toBe(n * UNIT_MS[u]);
      }),
    );
  });

  it('refuses anything else with a KeyInputError, and never answers NaN or a negative', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const ms = parsedOrRefused(() => parseDuration(text));
        if (ms !== undefined) {
          expect(Number.isSafeInteger(ms) && ms >= 0).toBe(true);
          expect(text.trim()).toMatch(/^(0|\d{1,12}[smhd])$/);
        }
      }),
    );
  });

  it('refuses durations beyond 100 years', () => {
    fc.assert(
      fc.property(fc.integer({ min: 36_501, max: 999_999_999 }), (days) => {
        expect(() => parseDuration(`${days}d`)).toThrow(KeyInputError);
      }),
    );
  });
});

describe('parseRateLimit (properties)', () => {
  it('reads <limit>/<n><unit> and <limit>/<unit>', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 300 }), unit, (limit, n, u) => {
        expect(parseRateLimit(`${limit}/${n}${u}`)).toEqual({
          limit,
          windowSeconds: (n * UNIT_MS[u]) / 1000,
        });
        expect(parseRateLimit(`${limit}/${u}`)).toEqual({ limit, windowSeconds: UNIT_MS[u] / 1000 });
      }),
    );
  });

  it('only ever answers a positive whole limit and window, or a KeyInputError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          fc
            .tuple(fc.integer({ min: -5, max: 2e9 }), fc.integer({ min: -5, max: 1e6 }), unit)
            .map(([l, n, u]) => `${l}/${n}${u}`),
        ),
        (text) => {
          const limit = parsedOrRefused(() => parseRateLimit(text));
          if (limit !== undefined) {
            expect(Number.isInteger(limit.limit) && limit.limit >= 1).toBe(true);
            expect(Number.isInteger(limit.windowSeconds) && limit.windowSeconds >= 1).toBe(true);
            expect(limit.windowSeconds).toBeLessThanOrEqual(366 * 86_400);
          }
        },
      ),
    );
  });
});

describe('checkScopes (properties)', () => {
  it('answers deduplicated scopes that a route can also require, or a KeyInputError', () => {
    const guard = createGuard({ schemes: apiKeyHeader({ name: 'k' }), verify: () => null });
    fc.assert(
      fc.property(fc.oneof(anyText, fc.array(anyText, { maxLength: 5 })), (input) => {
        const scopes = parsedOrRefused(() => checkScopes(input));
        if (scopes === undefined) return;
        expect(new Set(scopes).size).toBe(scopes.length);
        // Every scope a key can hold is one the guard accepts in `require(...)`.
        for (const s of scopes) expect(() => guard.require(s)).not.toThrow();
      }),
    );
  });

  it('reads comma-separated text like the list it names', () => {
    const scope = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:/*-]{0,20}$/);
    fc.assert(
      fc.property(fc.array(scope, { minLength: 1, maxLength: 8 }), (list) => {
        expect(checkScopes(list.join(' , '))).toEqual(checkScopes(list));
      }),
    );
  });
});

describe('key checksum (properties)', () => {
  const kw = keyFormat();
  it('catches every swap of two neighbouring different characters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 39 }), (at) => {
        const key = kw.generate();
        fc.pre(key[at] !== key[at + 1]);
        const swapped = key.slice(0, at) + key[at + 1] + key[at] + key.slice(at + 2);
        expect(kw.classify(swapped)).toBe('malformed');
      }),
      { numRuns: 2000 },
    );
  });

  it('shows at most the prefix and four characters of any key', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant(null).map(() => kw.generate()),
          anyText,
        ),
        (key) => {
          const shown = kw.display(key).replace(/…$/, '');
          expect(key.startsWith(shown)).toBe(true);
          expect(shown.length).toBeLessThanOrEqual(key.startsWith('kw_') ? 7 : 4);
        },
      ),
    );
  });
});
