import { describe, expect, it } from 'vitest';
import { KeywardConfigError } from './failures.js';
import { staticKeys } from './static-keys.js';

describe('staticKeys', () => {
  it('reads a comma-separated list such as an environment variable', () => {
    const verify = staticKeys(' one-key , two-key ,');
    expect(verify('one-key', undefined as never)).toEqual({ id: 'static-1', scopes: [] });
    expect(verify('two-key', undefined as never)).toEqual({ id: 'static-2', scopes: [] });
    expect(verify('three-key', undefined as never)).toBeUndefined();
    expect(verify('one-ke', undefined as never)).toBeUndefined();
    expect(verify('one-key ', undefined as never)).toBeUndefined();
  });
  it('maps keys to ids and scopes', () => {
    const verify = staticKeys([{ key: 'k1', id: 'ci', scopes: ['deploy'] }]);
    expect(verify('k1', undefined as never)).toEqual({ id: 'ci', scopes: ['deploy'] });
  });
  it('refuses an empty set and bad keys without echoing them', () => {
    expect(() => staticKeys('')).toThrow(KeywardConfigError);
    expect(() => staticKeys(undefined)).toThrow(KeywardConfigError);
    expect(() => staticKeys(['bad key'])).toThrow(/key #1/);
    try {
      staticKeys(['secret\u0001value']);
    } catch (e) {
      expect((e as Error).message).not.toContain('secret');
    }
  });
});
