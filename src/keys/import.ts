import { KeyInputError } from './errors.js';
import type { KeyFormat } from './format.js';
import type { KeySettings } from './settings.js';

/** One key to import: a plaintext legacy key (stored hashed) and optional settings. */
export interface ImportItem extends Partial<KeySettings> {
  key: string;
}

export interface ImportProgress {
  /** Items handed to the store so far. */
  readonly processed: number;
  readonly imported: number;
  /** Keys already stored (or repeated in the input), skipped. */
  readonly duplicates: number;
}

/** Imported keys must be usable by every scheme: visible ASCII, no `,` (a header list separator). */
const LEGACY = /^[\x21-\x2b\x2d-\x7e]{16,256}$/;

/** Checks a key to import. The message never contains the key. */
export function checkImportedKey(key: unknown, format: KeyFormat): string {
  if (typeof key !== 'string' || !LEGACY.test(key)) {
    throw new KeyInputError('key must be 16-256 visible ASCII characters without ","');
  }
  if (format.classify(key) === 'malformed') {
    throw new KeyInputError(
      `key starts with "${format.prefix}_" but is not a valid ${format.prefix} key (bad length or checksum), so it could never verify`,
    );
  }
  return key;
}

const FIELDS = new Set([
  'key',
  'name',
  'owner',
  'scopes',
  'metadata',
  'expiresAt',
  'uses',
  'rateLimit',
  'enabled',
]);

/**
 * Parses one line of an import file: a plaintext key, or a JSON object
 * `{"key", "name", "owner", "scopes", "metadata", "expiresAt", "uses", "rateLimit", "enabled"}`.
 * Blank lines and `#` comments give `undefined`.
 */
export function parseImportLine(line: string): ImportItem | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  if (!text.startsWith('{')) return { key: text };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyInputError('not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KeyInputError('a JSON line must be an object with a "key"');
  }
  const item = value as Record<string, unknown>;
  for (const field of Object.keys(item)) {
    if (!FIELDS.has(field)) throw new KeyInputError(`unknown field ${JSON.stringify(field.slice(0, 40))}`);
  }
  if (typeof item['expiresAt'] === 'string') {
    const at = new Date(item['expiresAt']);
    if (Number.isNaN(at.getTime())) throw new KeyInputError('expiresAt must be an ISO 8601 date');
    item['expiresAt'] = at;
  }
  return item as unknown as ImportItem;
}
