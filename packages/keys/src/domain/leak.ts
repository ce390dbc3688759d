import type { KeyPatch } from '../store/types.js';
import { KeyInputError } from './errors.js';

/** What a reported leak does to the key: revoke it (default), disable it, or only note it. */
export type LeakResponse = 'revoke' | 'disable' | 'notify';

export const LEAK_RESPONSES: readonly LeakResponse[] = Object.freeze(['revoke', 'disable', 'notify']);

/** The patch a leak response applies. */
export function leakPatch(response: LeakResponse, now: number): KeyPatch {
  switch (response) {
    case 'revoke':
      return { revokedAt: new Date(now) };
    case 'disable':
      return { enabled: false };
    case 'notify':
      return {};
    default:
      throw new KeyInputError(`leak response must be one of ${LEAK_RESPONSES.join(', ')}`);
  }
}

const DETAIL_FIELD = /^[a-z][A-Za-z0-9]{0,31}$/;
const MAX_DETAIL_FIELDS = 8;
/** Longest detail value: room for a long GitHub blob URL. */
export const MAX_DETAIL_LENGTH = 2048;
const CONTROL = /[\p{Cc}]/u;

/**
 * Checks an audit entry's `detail`: at most 8 fields named like `url` or `sourceType`,
 * each a string of at most 2048 characters without control characters. Returns a copy.
 */
export function checkDetail(detail: unknown): Readonly<Record<string, string>> {
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    throw new KeyInputError('detail must be an object of strings');
  }
  const entries = Object.entries(detail);
  if (entries.length > MAX_DETAIL_FIELDS)
    throw new KeyInputError(`detail has more than ${MAX_DETAIL_FIELDS} fields`);
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!DETAIL_FIELD.test(name)) throw new KeyInputError('detail field names are letters and digits, 1-32');
    if (typeof value !== 'string' || value.length > MAX_DETAIL_LENGTH || CONTROL.test(value)) {
      throw new KeyInputError(
        `detail.${name} must be a string of at most ${MAX_DETAIL_LENGTH} characters without control characters`,
      );
    }
    out[name] = value;
  }
  return Object.freeze(out);
}
