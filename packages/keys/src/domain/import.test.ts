import { describe, expect, it } from 'vitest';
import { KeyInputError } from './errors.js';
import { importPatch, parseImportLine } from './import.js';

const SECRET = 'legacy-Sk3tQm9ZpX2v8RrLwN4bYc7Hd1Jf6Ug';
const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyInputError);
    return (error as Error).message;
  }
  throw new Error('expected a KeyInputError');
};

describe('import lines never echo their content', () => {
  it('reports an unknown field without its name (a key pasted as a field name)', () => {
    const message = messageOf(() => parseImportLine(`{"${SECRET}": "billing"}`));
    expect(message).toMatch(/^unknown field \(allowed: key, name, /);
    expect(message).not.toContain(SECRET.slice(0, 12));
  });

  it('names the field at fault, never its value', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ scopes: [`${SECRET} x`] }, /^scopes must be/],
      [{ scopes: `read,${SECRET}!` }, /^scopes must be/],
      [{ rateLimit: SECRET }, /^rateLimit must be/],
      [{ expiresIn: SECRET }, /^expiresIn must be/],
      [{ name: `${SECRET}\n` }, /^name must be/],
      [{ uses: SECRET }, /^uses must be/],
      [{ ipAllow: [SECRET] }, /^ipAllow must be/],
      [{ originAllow: `https://${SECRET}.example/x` }, /^originAllow must be/],
      [{ routes: [`${SECRET} x`] }, /^routes must be/],
      [{ [SECRET]: 1 }, /^unknown field/],
    ];
    for (const [settings, reason] of cases) {
      const message = messageOf(() => importPatch({ key: 'k'.repeat(20), ...settings }, 0));
      expect({ settings, message }).toEqual({ settings, message: expect.stringMatching(reason) });
      expect(message).not.toContain(SECRET.slice(0, 12));
    }
  });

  it('turns valid settings into a patch named "imported" by default', () => {
    expect(importPatch({ key: 'k'.repeat(20), scopes: 'read', uses: 3 }, 0)).toEqual({
      name: 'imported',
      scopes: ['read'],
      remainingUses: 3,
    });
  });
});

describe('import lines with restrictions', () => {
  it('takes them as the CLI does, canonical', () => {
    const item = parseImportLine(
      '{"key": "legacy-key-0123456789abcdef", "ipAllow": ["10.0.0.0/8"], "routes": "get /a,POST /b"}',
    )!;
    expect(importPatch(item, Date.now()).restrictions).toEqual({
      ipAllow: ['10.0.0.0/8'],
      routes: ['GET /a', 'POST /b'],
    });
  });
});
