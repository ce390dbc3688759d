import type { AuditEntry, KeyRecord } from '@keyward/keys';
import { keyState } from '@keyward/keys';

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

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
    replaces: record.replaces,
    replacedBy: record.replacedBy,
  };
}

export function auditJson(entry: AuditEntry): Record<string, unknown> {
  return { ...entry, at: entry.at.toISOString() };
}

const short = (d: Date | null) => (d === null ? '-' : d.toISOString().replace(/\.\d{3}Z$/, 'Z'));

/** Left-aligned columns separated by two spaces. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function listTable(records: readonly KeyRecord[], now = Date.now()): string {
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
  return table([['ID', 'NAME', 'OWNER', 'KEY', 'SCOPES', 'STATE', 'EXPIRES', 'LAST USED', 'USES'], ...rows]);
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
