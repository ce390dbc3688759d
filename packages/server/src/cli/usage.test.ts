import type { UsageReport, UsageTop } from '@keyward/keys';
import { describe, expect, it } from 'vitest';
import { parseTime, sparkline, topText, usageText } from './usage.js';

const hour = (h: number) => new Date(Date.UTC(2026, 11, 6, h)).toISOString();

const report: UsageReport = {
  scope: { key: 'key_01JEXAMPLE0000000000000000' },
  granularity: 'hour',
  since: hour(0),
  until: hour(6),
  totals: {
    valid: 14,
    expired: 0,
    revoked: 0,
    disabled: 0,
    insufficient_scope: 0,
    rate_limited: 3,
    usage_exceeded: 0,
    restricted: 0,
  },
  buckets: [
    { start: hour(0), valid: 1 },
    { start: hour(1), valid: 2 },
    { start: hour(2) },
    { start: hour(3), valid: 8, rate_limited: 3 },
    { start: hour(4), valid: 2 },
    { start: hour(5), valid: 1 },
  ],
};

describe('keyward usage on a terminal', () => {
  it('draws one sparkline per outcome counted, the period and the totals', () => {
    expect(usageText(report)).toBe(
      [
        'Usage of key key_01JEXAMPLE0000000000000000, per hour, 2026-12-06 00:00 to 2026-12-06 06:00 UTC',
        '',
        'valid         ▁▂ █▂▁  14',
        'rate_limited     █    3',
        '              2026-12-06 00:00 2026-12-06 05:00',
        '',
        'total 17: valid 14, expired 0, revoked 0, disabled 0, insufficient_scope 0, rate_limited 3, usage_exceeded 0, restricted 0',
        '',
      ].join('\n'),
    );
  });

  it('sums long series into 60 columns and says so; says when nothing was counted', () => {
    const buckets = Array.from({ length: 1440 }, (_, i) => ({
      start: new Date(i * 60_000).toISOString(),
      valid: i < 720 ? 1 : 3,
    }));
    const long = {
      ...report,
      granularity: 'minute' as const,
      buckets,
      totals: { ...report.totals, valid: 720 * 4, rate_limited: 0 },
    };
    const text = usageText(long);
    expect(text).toContain('per minute (24 minutes a column)');
    expect(text.split('\n')[2]).toBe(`valid  ${'▃'.repeat(30)}${'█'.repeat(30)}  2880`);
    const empty = { ...report, totals: { ...report.totals, valid: 0, rate_limited: 0 }, buckets: [] };
    expect(usageText(empty)).toContain('nothing counted in this period');
  });

  it('lists the busiest keys with their names', () => {
    const top: UsageTop = {
      group: 'key',
      by: 'valid',
      granularity: 'day',
      since: '2026-11-29T00:00:00.000Z',
      until: '2026-12-07T00:00:00.000Z',
      items: [
        { key: 'key_A', valid: 120, refused: 4 },
        { key: 'key_B', valid: 7, refused: 0 },
      ],
    };
    expect(topText(top, new Map([['key_A', 'billing']]))).toBe(
      [
        'Busiest keys by valid requests, 2026-11-29 to 2026-12-07 UTC',
        '',
        '#  KEY    NAME       VALID  REFUSED',
        '1  key_A  billing    120    4',
        '2  key_B  (deleted)  7      0',
        '',
      ].join('\n'),
    );
  });

  it('reads times as a duration back from now or ISO 8601, and refuses anything else', () => {
    expect(parseTime('24h', 100 * 3_600_000)).toBe(76 * 3_600_000);
    expect(parseTime('2026-12-06T10:00:00Z')).toBe(Date.UTC(2026, 11, 6, 10));
    for (const bad of ['yesterday', '12', '-1h', '2026-13-45'])
      expect(() => parseTime(bad)).toThrow(/duration back from now/);
    expect(sparkline([0, 1, 8])).toBe(' ▁█');
  });
});
