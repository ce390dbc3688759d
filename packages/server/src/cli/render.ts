import type { AuditEntry, KeyRecord } from '@keyward/keys';
import { keyState } from '@keyward/keys';
import type { Restrictions } from 'keyward';
import { type Style, styledTable, styleFor, styleState } from './style.js';

const PLAIN_STYLE = styleFor({ isTTY: false }, { NO_COLOR: '1' });

/**
 * Characters a terminal acts on instead of printing (C0/C1 controls, DEL, line and
 * paragraph separators, bidirectional formatting). Input validation refuses them, but a
 * store written by an older keyward, or directly, may still hold them.
 */
const UNPRINTABLE = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Text for the terminal: every character in {@link UNPRINTABLE} written as a `\uXXXX` escape. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escaped);
}

/**
 * One line of JSON with the same characters escaped: `JSON.stringify` escapes C0 controls
 * only. The escapes are valid JSON, so scripts read the same values.
 */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value).replace(UNPRINTABLE, escaped)}\n`;
}

/** A date as scripts read it: ISO 8601, or null. */
export const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** A record as scripts read it: ISO dates and the current state. */
export function recordJson(record: KeyRecord, now = Date.now()): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    owner: record.owner,
    display: record.display,
    state: keyState(record, now),
    scopes: record.scopes,
    metadata: record.metadata,
    createdAt: iso(record.createdAt),
    expiresAt: iso(record.expiresAt),
    revokedAt: iso(record.revokedAt),
    enabled: record.enabled,
    lastUsedAt: iso(record.lastUsedAt),
    useCount: record.useCount,
    remainingUses: record.remainingUses,
    rateLimit: record.rateLimit,
    restrictions: record.restrictions,
    replaces: record.replaces,
    replacedBy: record.replacedBy,
  };
}

export function auditJson(entry: AuditEntry): Record<string, unknown> {
  return { ...entry, at: entry.at.toISOString() };
}

const short = (d: Date | null) => (d === null ? '-' : d.toISOString().replace(/\.\d{3}Z$/, 'Z'));

/** Left-aligned columns separated by two spaces, every cell made printable. */
export function table(rows: readonly (readonly string[])[]): string {
  return styledTable(
    rows.map((r) => r.map(printable)),
    PLAIN_STYLE,
  );
}

/** The key list as a table; with an enabled style, a bold header and coloured states. */
export function listTable(
  records: readonly KeyRecord[],
  now = Date.now(),
  style: Style = PLAIN_STYLE,
): string {
  const rows = records.map((r) => [
    r.id,
    r.name,
    r.owner ?? '-',
    r.display,
    r.scopes.join(',') || '-',
    keyState(r, now),
    short(r.expiresAt),
    short(r.lastUsedAt),
    r.remainingUses === null ? String(r.useCount) : `${r.useCount} (${r.remainingUses} left)`,
  ]);
  const header = ['ID', 'NAME', 'OWNER', 'KEY', 'SCOPES', 'STATE', 'EXPIRES', 'LAST USED', 'USES'];
  const state = header.indexOf('STATE');
  return styledTable(
    [header, ...rows].map((r) => r.map(printable)),
    style,
    (cell, _y, x) => (x === state ? cell.replace(/\S+/, (word) => styleState(style, word)) : cell),
  );
}

export function describeRecord(r: KeyRecord, now = Date.now()): string {
  const rate = r.rateLimit ? `${r.rateLimit.limit} per ${r.rateLimit.windowSeconds}s` : '-';
  const lines: [string, string][] = [
    ['id', r.id],
    ['name', r.name],
    ['owner', r.owner ?? '-'],
    ['key', r.display],
    ['state', keyState(r, now)],
    ['scopes', r.scopes.join(', ') || '-'],
    ['created', short(r.createdAt)],
    ['expires', short(r.expiresAt)],
    ['revoked', short(r.revokedAt)],
    ['enabled', r.enabled ? 'yes' : 'no'],
    ['last used', short(r.lastUsedAt)],
    ['use count', String(r.useCount)],
    ['uses left', r.remainingUses === null ? 'unlimited' : String(r.remainingUses)],
    ['rate limit', rate],
    ['metadata', JSON.stringify(r.metadata)],
  ];
  lines.push(...restrictionLines(r.restrictions));
  if (r.replaces) lines.push(['replaces', r.replaces]);
  if (r.replacedBy) lines.push(['replaced by', r.replacedBy]);
  return table(lines.map(([k, v]) => [`${k}:`, v]));
}

export function auditTable(entries: readonly AuditEntry[]): string {
  const rows = entries.map((e) => [
    String(e.seq),
    short(e.at),
    e.actor,
    e.action,
    e.keyId ?? '-',
    JSON.stringify(e.changes),
  ]);
  return table([['SEQ', 'AT', 'ACTOR', 'ACTION', 'KEY', 'CHANGES'], ...rows]);
}

/** `show` lines of a key's or an owner's restrictions: one per kind that restricts. */
export function restrictionLines(restricted: Restrictions | null): [string, string][] {
  const lines: [string, string][] = [];
  if (restricted?.ipAllow?.length) lines.push(['ip allow', restricted.ipAllow.join(', ')]);
  if (restricted?.originAllow?.length) lines.push(['origin allow', restricted.originAllow.join(', ')]);
  if (restricted?.routes?.length) lines.push(['routes', restricted.routes.join(', ')]);
  return lines;
}
