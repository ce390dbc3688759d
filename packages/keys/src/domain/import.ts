import type { KeyPatch } from '../store/types.js';
import { KeyInputError } from './errors.js';
import type { KeyFormat } from './format.js';
import { type KeySettings, settingsPatch } from './settings.js';

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

/**
 * What each setting must be. An import file may hold key material anywhere (a key pasted
 * into the wrong field, or as a field name), so messages name the field, never its value.
 */
const REASONS: Readonly<Record<string, string>> = {
  name: 'name must be 1-200 characters without control or bidirectional formatting characters or unpaired surrogates',
  owner:
    'owner must be 1-200 characters without control or bidirectional formatting characters or unpaired surrogates, or null',
  scopes: 'scopes must be a list of at most 100 scopes of letters, digits and _ . : / * - (1-64 characters)',
  metadata:
    'metadata must be a JSON object of at most 16 KiB, without NUL, C1 controls, DEL, bidirectional formatting characters or unpaired surrogates',
  expiresAt: 'expiresAt must be an ISO 8601 date',
  expiresIn: 'expiresIn must be a duration such as 30d',
  uses: 'uses must be a whole number from 0, or null',
  rateLimit: 'rateLimit must be requests/window such as "100/1m", or null',
  ipAllow:
    'ipAllow must be a list of IPv4/IPv6 addresses or CIDR ranges (network address, valid prefix), or null',
  originAllow: 'originAllow must be a list of origins such as "https://app.example.com", or null',
  routes: 'routes must be a list of "METHOD /path" or operation ids, or null',
  enabled: 'enabled must be true or false',
};

/** The fields a JSON import line may have. */
const FIELDS = [
  'key',
  'name',
  'owner',
  'scopes',
  'metadata',
  'expiresAt',
  'uses',
  'rateLimit',
  'ipAllow',
  'originAllow',
  'routes',
  'enabled',
];
const ALLOWED = new Set(FIELDS);

/**
 * Validates the settings of an item to import into a patch. Rejects with a
 * `KeyInputError` that names the field at fault and never quotes the input.
 */
export function importPatch(item: ImportItem, now: number): KeyPatch {
  const { key: _key, ...settings } = item;
  for (const [field, value] of Object.entries(settings)) {
    const reason = REASONS[field];
    if (reason === undefined) throw new KeyInputError(`unknown field (allowed: ${FIELDS.join(', ')})`);
    try {
      settingsPatch({ [field]: value }, now);
    } catch (error) {
      if (error instanceof KeyInputError) throw new KeyInputError(reason);
      throw error;
    }
  }
  return settingsPatch({ name: 'imported', ...settings }, now);
}

/**
 * Parses one line of an import file: a plaintext key, or a JSON object
 * `{"key", "name", "owner", "scopes", "metadata", "expiresAt", "uses", "rateLimit", "ipAllow",
 * "originAllow", "routes", "enabled"}`.
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
    // Never the field's name: a key pasted as one would be printed.
    if (!ALLOWED.has(field)) throw new KeyInputError(`unknown field (allowed: ${FIELDS.join(', ')})`);
  }
  if (typeof item['expiresAt'] === 'string') {
    const at = new Date(item['expiresAt']);
    if (Number.isNaN(at.getTime())) throw new KeyInputError('expiresAt must be an ISO 8601 date');
    item['expiresAt'] = at;
  }
  return item as unknown as ImportItem;
}
