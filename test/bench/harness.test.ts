import { describe, expect, it } from 'vitest';
import { runProblem, summarise } from '../../bench/lib/cases.js';
import type { CaseResult, RunResult, ServerResult } from '../../bench/lib/model.js';
import { median, pairedRatio, percentile } from '../../bench/lib/stats.js';
import { caseRows, renderTable } from '../../bench/lib/table.js';
import { evaluateTargets } from '../../bench/lib/targets.js';

// The harness's arithmetic on fixed numbers. Nothing here generates load or times anything.

const run = (rps: number, extra: Partial<RunResult> = {}): RunResult => ({
  rps,
  requests: rps,
  seconds: 1,
  p50Us: 100,
  p99Us: 1000,
  non2xx: 0,
  socketErrors: 0,
  ...extra,
});

const server = (id: string, extra: Partial<ServerResult> = {}): ServerResult => ({
  id,
  label: id,
  group: 'keyward',
  framework: 'hono',
  keys: 'store',
  storeKeys: 1_000_000,
  ...extra,
});

function cases(id: string, rates: Partial<Record<CaseResult['case'], number[]>>): CaseResult[] {
  const runs = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, v.map((x) => run(x))]));
  return Object.entries(runs).map(([name, list]) => {
    const n = name as CaseResult['case'];
    const base =
      n === 'public'
        ? undefined
        : n === 'valid'
          ? runs['public']
          : n === 'flood'
            ? (runs['cycle'] ?? runs['valid'])
            : runs['valid'];
    return summarise(id, n, list, base, undefined);
  });
}

describe('statistics', () => {
  it('takes medians of finite values only', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, Number.NaN, 1])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it('uses nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it('pairs each run with the baseline run of its round', () => {
    // A slow second round hits both sides: paired ratios are 1, 1, 31/30.
    expect(pairedRatio([10, 50, 31], [10, 50, 30])).toBe(1);
    // Dividing medians instead would give 31/30.
    expect(median([10, 50, 31]) / median([10, 50, 30])).toBeCloseTo(31 / 30);
    // A broken round (NaN) is skipped, not counted as zero.
    expect(pairedRatio([Number.NaN, 20, 30], [10, 10, 10])).toBe(2.5);
  });
});

describe('run checks', () => {
  it('flags runs whose status codes do not match the case', () => {
    expect(runProblem('valid', run(1000))).toBeUndefined();
    expect(runProblem('valid', run(1000, { non2xx: 3 }))).toMatch(/3 responses >= 400/);
    expect(runProblem('missing', run(1000, { non2xx: 1000 }))).toBeUndefined();
    expect(runProblem('unknown', run(1000, { non2xx: 10 }))).toMatch(/responses < 400/);
    expect(runProblem('flood', run(1000, { non2xx: 500 }))).toBeUndefined();
    expect(runProblem('flood', run(1000, { non2xx: 990 }))).toMatch(/99% rejected/);
    expect(runProblem('public', run(1000, { socketErrors: 2 }))).toMatch(/socket/);
  });

  it('computes ratios on per-core throughput when the server CPU was measured', () => {
    const busy = [run(5000, { perCore: 20_000 })];
    const base = [run(10_000, { perCore: 20_000 })];
    const c = summarise('s', 'valid', busy, base, undefined);
    expect(c.ratio).toBe(1);
    expect(c.rps).toBe(5000);
    expect(c.perCore).toBe(20_000);
  });
});

describe('targets', () => {
  const peers = [
    server('node-floor', { group: 'peer', framework: 'node', keys: 'static', storeKeys: undefined }),
  ];
  const peerCases = (valid: number) =>
    cases('node-floor', { public: [100, 100, 100], valid: [valid, valid, valid], missing: [99, 99, 99] });

  it('judges ratios against the issue thresholds and names the worst case', () => {
    const servers = [
      ...peers,
      server('kw-hono', { unknownLookups: { lookups: 1, requests: 100_000 }, rssPeakMiB: 90 }),
      server('kw-node', {
        framework: 'node',
        unknownLookups: { lookups: 0, requests: 100_000 },
        rssPeakMiB: 80,
      }),
    ];
    const all = [
      ...peerCases(95),
      ...cases('kw-hono', {
        public: [100, 100, 100],
        valid: [96, 97, 95],
        missing: [99, 100, 101],
        unknown: [100, 100, 100],
        flood: [95, 96, 97],
      }),
      ...cases('kw-node', {
        public: [100, 100, 100],
        valid: [99, 99, 99],
        missing: [101, 101, 101],
        unknown: [98, 98, 98],
        flood: [80, 80, 80],
      }),
    ];
    const t = Object.fromEntries(
      evaluateTargets({
        servers,
        cases: all,
        micro: { store: 'sqlite', keys: 1_000_000, samples: 1000, p50Us: 20, p99Us: 120, maxUs: 300 },
        storeBuild: { keys: 1_000_000, seconds: 12, method: 'x', cached: true, builtAt: 'then' },
      }).map((x) => [x.id, x]),
    );
    expect(t['1']!.verdict).toBe('PASS'); // 0.96 (kw-hono) and 0.99 (kw-node)
    expect(t['1']!.value).toBe('0.96 kw-hono, 0.99 kw-node');
    expect(t['2']!.verdict).toBe('MISS');
    expect(t['2']!.value).toBe('worst 0.99 (kw-node unknown)');
    expect(t['3']!.verdict).toBe('MISS');
    expect(t['3']!.value).toBe('0.99 kw-hono, 0.81 kw-node');
    expect(t['3']!.note).toContain('kw-hono: 1 lookups for 100000 repeated-unknown requests');
    expect(t['4']!.verdict).toBe('MISS'); // best keyward 99 / best peer 95
    expect(t['4']!.value).toMatch(/^1\.04 \(kw-node 99 vs node-floor 95/);
    expect(t['5a']!.verdict).toBe('MISS');
    expect(t['5b']!.verdict).toBe('not measured');
    expect(t['6a']!.verdict).toBe('PASS');
    expect(t['6b']!.verdict).toBe('PASS');
    expect(t['7']!.verdict).toBe('not measured');
  });

  it('judges target 8 on the peak RSS growth over 1,000,000 addresses', () => {
    const memory = (growthPeakMiB: number, addresses = 1_000_000) => ({
      addresses,
      requests: addresses * 3,
      seconds: 30,
      codes: { ok: addresses },
      rssBaseMiB: 80,
      rssPeakMiB: 80 + growthPeakMiB,
      growthPeakMiB,
      growthEndMiB: 30,
      heapGrowthMiB: 0.5,
      arrayBuffersGrowthMiB: 8,
      counters: 100_000,
      blocked: 100_000,
      known: 100_000,
    });
    const t8 = (m: ReturnType<typeof memory>) =>
      evaluateTargets({ servers: [], cases: [], addressMemory: m }).find((x) => x.id === '8')!;
    expect(t8(memory(45))).toMatchObject({
      verdict: 'PASS',
      value: 'peak +45.0 MiB (1000000 addresses, 3000000 requests)',
    });
    expect(t8(memory(45)).note).toContain('100000 blocked addresses');
    expect(t8(memory(64)).verdict).toBe('MISS');
    expect(t8(memory(10, 200_000)).verdict).toBe('MISS');
  });

  it('never passes what it could not measure', () => {
    const servers = [...peers, server('kw-hono', { keys: 'static', storeKeys: undefined })];
    const all = [
      ...peerCases(90),
      ...cases('kw-hono', { public: [100], valid: [99], missing: [120], unknown: [120], flood: [120] }),
    ];
    const t = evaluateTargets({ servers, cases: all, storeReason: 'no store yet' });
    const byId = Object.fromEntries(t.map((x) => [x.id, x]));
    for (const id of ['1', '3', '5a', '5b', '6a', '6b', '7', '8'])
      expect(byId[id]!.verdict).toBe('not measured');
    expect(byId['1']!.note).toContain('no store yet; with staticKeys: 0.99 kw-hono');
    expect(byId['2']!.verdict).toBe('PASS');
    expect(byId['4']!.verdict).toBe('PASS'); // 99 / 90 = 1.1
  });

  it('judges target 4 against the floor too, and names the library-only ratio', () => {
    const servers = [
      server('node-floor', { group: 'peer', framework: 'node', keys: 'static', floor: true }),
      server('fastify', { group: 'peer', framework: 'fastify', keys: 'static' }),
      server('kw-node', { framework: 'node' }),
    ];
    const all = [
      ...cases('node-floor', { public: [100, 100], valid: [95, 95] }),
      ...cases('fastify', { public: [100, 100], valid: [90, 80] }),
      ...cases('kw-node', { public: [100, 100], valid: [99, 88] }),
    ];
    const t4 = evaluateTargets({ servers, cases: all }).find((x) => x.id === '4')!;
    // Per round: max(keyward) / max(peers) = 99/95, 88/95; the median of the two.
    expect(t4.verdict).toBe('MISS');
    expect(t4.value).toMatch(/^0\.98 /);
    // Without the floor: 99/90 and 88/80, both 1.1.
    expect(t4.note).toBe('against the fastest library peer (fastify), without the hand-written floor: 1.10');
  });

  it("prints the reference servers in target 1's note and judges no target on them", () => {
    const reference = { group: 'reference', keys: 'static', storeKeys: undefined } as const;
    const servers = [
      ...peers,
      server('node-keyed-floor', { ...reference, framework: 'node' }),
      server('kw-node', { framework: 'node' }),
    ];
    const all = [
      ...peerCases(90),
      // Faster than every peer and than keyward, and with slow rejections: were it judged,
      // target 4 would miss and target 2 would name it.
      ...cases('node-keyed-floor', {
        public: [100, 100],
        valid: [97, 97],
        missing: [50, 50],
        unknown: [50, 50],
      }),
      ...cases('kw-node', { public: [100, 100], valid: [93, 91], missing: [99, 99], unknown: [98, 98] }),
    ];
    const t = Object.fromEntries(evaluateTargets({ servers, cases: all }).map((x) => [x.id, x]));
    expect(t['1']!.verdict).toBe('MISS');
    expect(t['1']!.value).toBe('0.92 kw-node');
    expect(t['1']!.note).toBe(
      'not measured on hono; references (hand-written, judged by no target): 0.97 node-keyed-floor',
    );
    expect(t['2']!.value).toBe('worst 1.07 (kw-node unknown)');
    expect(t['4']!.value).toMatch(/^1\.02 \(kw-node 92 vs node-floor 90/);
    // Without a store (a quick run on a tree without one) they are still printed.
    const staticOnly = evaluateTargets({
      servers: servers.slice(0, 2),
      cases: all.filter((c) => c.server !== 'kw-node'),
      storeReason: 'no store yet',
    }).find((x) => x.id === '1')!;
    expect(staticOnly.verdict).toBe('not measured');
    expect(staticOnly.note).toBe(
      'no store yet; references (hand-written, judged by no target): 0.97 node-keyed-floor',
    );
  });

  it('does not pass a target measured on a smaller store', () => {
    const servers = [...peers, server('kw-hono', { storeKeys: 1000, rssPeakMiB: 50 })];
    const all = [...peerCases(90), ...cases('kw-hono', { public: [100], valid: [99] })];
    const t = Object.fromEntries(evaluateTargets({ servers, cases: all }).map((x) => [x.id, x]));
    expect(t['1']!.verdict).toBe('not measured');
    expect(t['6b']!.verdict).toBe('MISS');
  });
});

describe("issue 16's points", () => {
  const service = (
    id: string,
    level: string,
    lines: number,
    requests: number,
    extra: Partial<ServerResult> = {},
  ) => server(id, { group: 'service', requestLog: { level, lines, requests }, rssPeakMiB: 120, ...extra });
  const reference = (id: string, framework: 'hono' | 'node') =>
    server(id, { group: 'reference', framework, keys: 'static', storeKeys: undefined });
  const byId = (input: Parameters<typeof evaluateTargets>[0]) =>
    Object.fromEntries(evaluateTargets(input).map((t) => [t.id, t]));

  // serve: public 100 per round; silent public 110, 105, 100 (ratios 0.91, 0.95, 1.00).
  const serveCases = (over: Partial<Record<CaseResult['case'], number[]>> = {}) => [
    ...cases('serve', {
      public: [100, 100, 100],
      valid: [90, 86, 88],
      missing: [90, 86, 88],
      malformed: [88, 84, 86],
      unknown: [87, 84, 86],
      cycle: [80, 80, 80],
      flood: [77, 76, 78],
      ...over,
    }),
    ...cases('serve-silent', { public: [110, 105, 100], valid: [100, 100, 100] }),
    ...cases('hono-bare', { public: [115, 120, 110] }),
  ];
  const serveServers = (lines = 1000) => [
    service('serve', 'info', lines, 1000),
    service('serve-silent', 'silent', 0, 1000, { rssPeakMiB: 90 }),
    reference('hono-bare', 'hono'),
  ];

  it('judges the request log against silent, and misses when a line is lost', () => {
    const t = byId({ servers: serveServers(), cases: serveCases() });
    expect(t['16.1']).toMatchObject({
      verdict: 'PASS',
      value: '0.95 (serve vs serve-silent, req/s per core)',
    });
    expect(t['16.1']!.note).toContain('1000 log lines for 1000 requests completed');
    expect(byId({ servers: serveServers(999), cases: serveCases() })['16.1']!.verdict).toBe('MISS');
    const slow = serveCases({ public: [90, 90, 90] }); // 0.82, 0.86, 0.90
    expect(byId({ servers: serveServers(), cases: slow })['16.1']).toMatchObject({
      verdict: 'MISS',
      value: expect.stringMatching(/^0\.86 /),
    });
  });

  it("judges serve's public route against bare Hono and its own paths against it", () => {
    const t = byId({ servers: serveServers(), cases: serveCases() });
    // 100/115, 100/120, 100/110: median 0.87.
    expect(t['16.2a']).toMatchObject({ verdict: 'PASS', value: '0.87 (serve vs hono-bare, req/s per core)' });
    expect(t['16.2b']).toMatchObject({ verdict: 'PASS', value: '0.88 serve' });
    expect(t['16.2b']!.note).toBe('serve-silent: 0.95');
    // malformed 88/90, 84/86, 86/88 = 0.98; unknown 87/90, 84/86, 86/88 = 0.977.
    expect(t['16.2c']).toMatchObject({
      verdict: 'PASS',
      value: '1.00 missing, 0.98 malformed, 0.98 unknown',
    });
    expect(t['16.2d']).toMatchObject({ verdict: 'PASS', value: '0.96 serve' }); // 77/80, 76/80, 78/80
    const worse = byId({
      servers: serveServers(),
      cases: serveCases({ unknown: [85, 83, 85], valid: [84, 84, 84], flood: [70, 70, 70] }),
    });
    expect(worse['16.2b']).toMatchObject({ verdict: 'MISS', value: '0.84 serve' });
    expect(worse['16.2c']!.verdict).toBe('PASS');
    expect(worse['16.2d']).toMatchObject({ verdict: 'MISS', value: '0.88 serve' });
    const refused = byId({ servers: serveServers(), cases: serveCases({ unknown: [80, 80, 80] }) });
    expect(refused['16.2c']).toMatchObject({
      verdict: 'MISS',
      value: '1.00 missing, 0.98 malformed, 0.91 unknown',
    });
  });

  it('never passes point 2 without the store, a refusal case or the bare Hono app', () => {
    const small = [service('serve', 'info', 1000, 1000, { storeKeys: 1000 })];
    const t = byId({
      servers: small,
      cases: serveCases({ malformed: [] }).filter((c) => c.server === 'serve'),
    });
    expect(t['16.2a']!.verdict).toBe('not measured');
    expect(t['16.2b']).toMatchObject({ verdict: 'not measured' });
    expect(t['16.2b']!.note).toContain('held 1000 keys');
    expect(t['16.2c']).toMatchObject({ verdict: 'not measured', note: 'not measured: malformed' });
    expect(t['16.1']!.verdict).toBe('not measured');
  });

  it('restates the library targets against the same-run references, 0.03 below their ratios', () => {
    const servers = [
      server('node-floor', { group: 'peer', framework: 'node', keys: 'static', storeKeys: undefined }),
      reference('hono-keyed-floor', 'hono'),
      reference('node-keyed-floor', 'node'),
      server('keyward-hono-protect-store'),
      server('keyward-hono-store'),
      server('keyward-node-store', { framework: 'node' }),
    ];
    const all = (protectValid: number, nodeUnknown: number) => [
      ...cases('node-floor', { public: [100, 100], valid: [50, 50] }),
      ...cases('hono-keyed-floor', {
        public: [100, 100],
        valid: [90, 90],
        missing: [99, 99],
        unknown: [95, 95],
      }),
      ...cases('node-keyed-floor', {
        public: [100, 100],
        valid: [96, 96],
        missing: [100, 100],
        unknown: [98, 98],
      }),
      ...cases('keyward-hono-protect-store', {
        public: [100, 100],
        valid: [protectValid, protectValid],
        missing: [protectValid * 0.97, protectValid * 0.97],
        malformed: [protectValid * 0.93, protectValid * 0.93],
        unknown: [protectValid * 0.92, protectValid * 0.92],
      }),
      ...cases('keyward-hono-store', { public: [100, 100], valid: [80, 80] }),
      ...cases('keyward-node-store', {
        public: [100, 100],
        valid: [94, 94],
        missing: [94, 94],
        unknown: [nodeUnknown, nodeUnknown],
      }),
    ];
    const pass = byId({ servers, cases: all(87, 89) });
    // 0.87 against 0.90 - 0.03 and 0.94 against 0.96 - 0.03: both at least the floor.
    expect(pass['16.3a']).toMatchObject({
      verdict: 'PASS',
      value:
        '0.87 keyward-hono-protect-store vs 0.90 hono-keyed-floor, 0.94 keyward-node-store vs 0.96 node-keyed-floor',
    });
    expect(pass['16.3a']!.note).toContain('apiKeyAuth middleware (keyward-hono-store, not judged): 0.80');
    // Worst margin: unknown 0.92 against 95/90 - 0.03 = 1.03 (missing: 0.97 against 1.07).
    expect(pass['16.3b']).toMatchObject({
      verdict: 'MISS',
      value: 'worst 0.92 keyward-hono-protect-store unknown vs 1.06 hono-keyed-floor',
    });
    const miss = byId({ servers, cases: all(86, 89) });
    expect(miss['16.3a']!.verdict).toBe('MISS');
    expect(miss['16.3a']!.note).toContain('worst margin -0.01');
    // malformed is held to the reference's unknown ratio (a hand-written check has no checksum).
    const refusalsOnly = byId({
      servers: servers.filter((s) => s.id !== 'keyward-hono-protect-store'),
      cases: all(87, 89).filter((c) => !c.server.startsWith('keyward-hono-protect')),
    });
    // node: missing 1.00 vs 1.04 - 0.03; unknown 89/94 = 0.95 vs 1.02 - 0.03 = 0.99.
    expect(refusalsOnly['16.3b']).toMatchObject({
      verdict: 'MISS',
      value: 'worst 0.95 keyward-node-store unknown vs 1.02 node-keyed-floor',
    });
    expect(refusalsOnly['16.3a']!.verdict).toBe('not measured');
    expect(refusalsOnly['16.3a']!.note).toContain('not measured on hono');
    // Within 0.03 of the reference on every refusal: a pass.
    const close = byId({
      servers: [reference('node-keyed-floor', 'node'), server('keyward-node-store', { framework: 'node' })],
      cases: [
        ...cases('node-keyed-floor', { public: [100], valid: [96], missing: [100], unknown: [98] }),
        ...cases('keyward-node-store', {
          public: [100],
          valid: [100],
          missing: [102],
          malformed: [100],
          unknown: [100],
        }),
      ],
    });
    // missing 1.02 vs 100/96 - 0.03 = 1.012; malformed and unknown 1.00 vs 98/96 - 0.03 = 0.991.
    expect(close['16.3b']).toMatchObject({ verdict: 'PASS', note: 'margin +0.01 over 3 refusal cases' });
    // Point 3c is target 4 as it is.
    expect(pass['16.3c']!.verdict).toBe(pass['4']!.verdict);
    expect(pass['16.3c']!.value).toBe(pass['4']!.value);
  });

  it('carries targets 5a to 8 and holds serve to the RSS limit', () => {
    const micro = { store: 'sqlite', keys: 1_000_000, samples: 1000, p50Us: 20, p99Us: 50, maxUs: 300 };
    const t = byId({ servers: serveServers(), cases: serveCases(), micro });
    expect(t['16.4']).toMatchObject({
      verdict: 'not measured',
      value:
        'T5a PASS, T5b not measured, T6a not measured, T6b not measured, T7 not measured, T8 not measured',
    });
    expect(t['16.4']!.note).toBe('serve RSS under load (< 150 MB): 120 MiB serve, 90 MiB serve-silent');
    const heavy = [service('serve', 'info', 1000, 1000, { rssPeakMiB: 151 })];
    expect(byId({ servers: heavy, cases: [], micro })['16.4']!.verdict).toBe('MISS');
    expect(byId({ servers: [], cases: [], micro: { ...micro, p99Us: 120 } })['16.4']!.verdict).toBe('MISS');
  });

  it("marks serve's rows with the point they feed", () => {
    const rows = caseRows(serveServers(), serveCases());
    const targetOf = (srv: string, name: string) => rows.find((r) => r[0] === srv && r[1] === name)!.at(-1);
    expect(targetOf('serve', 'valid')).toBe('T16.2b >=0.85 PASS');
    expect(targetOf('serve', 'unknown')).toBe('T16.2c >=0.97 PASS');
    expect(targetOf('serve', 'flood')).toBe('T16.2d >=0.95 PASS');
    expect(targetOf('serve', 'public')).toBe('');
    expect(targetOf('serve-silent', 'valid')).toBe('');
  });
});

describe('table', () => {
  it('aligns text columns and escapes Markdown cells', () => {
    const text = renderTable(
      ['name', 'rps'],
      [
        ['a', '1,000'],
        ['bbb', '20'],
      ],
      'text',
    );
    expect(text.split('\n')).toEqual(['name    rps', '----  -----', 'a     1,000', 'bbb      20']);
    const md = renderTable(['name', 'rps'], [['a|b', '1']], 'markdown');
    expect(md.split('\n')).toEqual(['| name | rps |', '|---|---:|', '| a\\|b | 1 |']);
  });

  it('marks staticKeys verdicts of store targets as analogues', () => {
    const servers = [server('kw', { keys: 'static' })];
    const rows = caseRows(servers, cases('kw', { public: [100], valid: [90], missing: [85] }));
    expect(rows.map((r) => r.at(-1))).toEqual(['', 'T1 >=0.95 (MISS)', 'T2 >=1.00 MISS']);
  });
});
