import {
  type AddressMemoryResult,
  type CaseName,
  type CaseResult,
  type MicroResult,
  type RevocationResult,
  type ServerResult,
  type StoreBuild,
  type TargetResult,
  throughput,
} from './model.js';
import { evaluatePoints } from './points.js';
import { median } from './stats.js';

/** Everything the targets of issue 6 are judged on, from one run. */
export interface TargetInput {
  readonly servers: readonly ServerResult[];
  readonly cases: readonly CaseResult[];
  /** Target 5 on SQLite and on PostgreSQL, or why they could not be measured. */
  readonly micro?: MicroResult;
  readonly microReason?: string;
  readonly pgMicro?: MicroResult;
  readonly pgReason?: string;
  /** Target 7, or why it could not be measured. */
  readonly revocation?: RevocationResult;
  readonly revocationReason?: string;
  /** Target 8, or why it could not be measured. */
  readonly addressMemory?: AddressMemoryResult;
  readonly addressMemoryReason?: string;
  /** Target 6, or why the store could not be measured. */
  readonly storeBuild?: StoreBuild;
  readonly storeReason?: string;
}

const FULL_STORE = 1_000_000;
const fmt = (x: number) => x.toFixed(2);

function find(input: TargetInput, server: string, name: CaseName): CaseResult | undefined {
  return input.cases.find((c) => c.server === server && c.case === name && !c.problem);
}

function ratios(input: TargetInput, servers: readonly ServerResult[], names: readonly CaseName[]) {
  const out: { server: string; case: CaseName; ratio: number }[] = [];
  for (const s of servers) {
    for (const name of names) {
      const r = find(input, s.id, name)?.ratio;
      if (r !== undefined && Number.isFinite(r)) out.push({ server: s.id, case: name, ratio: r });
    }
  }
  return out;
}

function worst(list: readonly { server: string; case: CaseName; ratio: number }[]) {
  return list.reduce((a, b) => (b.ratio < a.ratio ? b : a));
}

function notMeasured(id: string, title: string, goal: string, note: string): TargetResult {
  return { id, title, goal, verdict: 'not measured', note };
}

function storeNote(servers: readonly ServerResult[]): string | undefined {
  const small = servers.filter((s) => (s.storeKeys ?? 0) < FULL_STORE);
  if (small.length === 0) return undefined;
  return `store held ${small.map((s) => `${s.storeKeys ?? '?'} keys (${s.id})`).join(', ')}, not 1,000,000`;
}

function target1(input: TargetInput): TargetResult {
  const title = 'valid key from the 1M-key SQLite store (cached) / public route, Hono and node:http';
  const goal = '>= 0.95';
  const keyward = input.servers.filter(
    (s) => s.group === 'keyward' && ['hono', 'node'].includes(s.framework),
  );
  const store = keyward.filter((s) => s.keys === 'store');
  const list = ratios(input, store, ['valid']);
  const floors = ratios(
    input,
    input.servers.filter((s) => s.group === 'reference'),
    ['valid'],
  );
  const references = floors.length
    ? `references (hand-written, judged by no target): ${floors.map((r) => `${fmt(r.ratio)} ${r.server}`).join(', ')}`
    : undefined;
  if (list.length === 0) {
    const stat = ratios(
      input,
      keyward.filter((s) => s.keys === 'static'),
      ['valid'],
    );
    const hint = stat.length
      ? `; with staticKeys: ${stat.map((r) => `${fmt(r.ratio)} ${r.server}`).join(', ')}`
      : '';
    const reason = `${input.storeReason ?? 'no store server ran'}${hint}`;
    return notMeasured('1', title, goal, references ? `${reason}; ${references}` : reason);
  }
  const w = worst(list);
  const frameworks = new Set(
    store.filter((s) => list.some((r) => r.server === s.id)).map((s) => s.framework),
  );
  const missingFramework = ['hono', 'node'].filter((f) => !frameworks.has(f as 'hono'));
  const notes = [
    storeNote(store),
    missingFramework.length ? `not measured on ${missingFramework}` : undefined,
  ];
  return {
    id: '1',
    title,
    goal,
    // A pass needs the target's whole setup: both servers, a full store.
    verdict: w.ratio < 0.95 ? 'MISS' : notes.some(Boolean) ? 'not measured' : 'PASS',
    value: list.map((r) => `${fmt(r.ratio)} ${r.server}`).join(', '),
    note: [...notes, references].filter(Boolean).join('; ') || undefined,
  };
}

function target2(input: TargetInput): TargetResult {
  const title = 'missing, malformed and unknown key / valid key, every keyward server';
  const goal = '>= 1.00';
  const keyward = input.servers.filter((s) => s.group === 'keyward');
  const list = ratios(input, keyward, ['missing', 'malformed', 'unknown']);
  if (list.length === 0) return notMeasured('2', title, goal, 'no keyward rejection case ran');
  const w = worst(list);
  const onlyStatic = !keyward.some((s) => s.keys === 'store');
  return {
    id: '2',
    title,
    goal,
    verdict: w.ratio >= 1 ? 'PASS' : 'MISS',
    value: `worst ${fmt(w.ratio)} (${w.server} ${w.case})`,
    note: onlyStatic ? `staticKeys only: ${input.storeReason ?? 'no store server ran'}` : undefined,
  };
}

function target3(input: TargetInput): TargetResult {
  const title =
    '50/50 valid + fresh well-formed unknown keys / all valid (same script); no store query per repeated unknown key';
  const goal = '>= 0.95';
  const keyward = input.servers.filter((s) => s.group === 'keyward');
  const store = keyward.filter((s) => s.keys === 'store');
  const list = ratios(input, store, ['flood']);
  if (list.length === 0) {
    const stat = ratios(
      input,
      keyward.filter((s) => s.keys === 'static'),
      ['flood'],
    );
    const hint = stat.length
      ? `; with staticKeys: ${stat.map((r) => `${fmt(r.ratio)} ${r.server}`).join(', ')}`
      : '';
    return notMeasured('3', title, goal, `${input.storeReason ?? 'no store server ran'}${hint}`);
  }
  const w = worst(list);
  const notes: string[] = [];
  let lookupsOk = true;
  for (const s of store) {
    if (!s.unknownLookups) {
      notes.push(`${s.id}: store lookups not counted`);
      continue;
    }
    const { lookups, requests } = s.unknownLookups;
    // One lookup per round is allowed (the negative cache may expire between rounds).
    if (requests > 0 && lookups / requests >= 0.001) lookupsOk = false;
    notes.push(`${s.id}: ${lookups} lookups for ${requests} repeated-unknown requests`);
  }
  const control = ratios(input, store, ['cycle']);
  if (control.length > 0) {
    notes.push(
      `baseline: the flood's own wrk script sending valid keys only (case cycle), which ran at ${control
        .map((r) => `${fmt(r.ratio)} ${r.server}`)
        .join(', ')} of the plain valid case`,
    );
  }
  const small = storeNote(store);
  if (small) notes.push(small);
  return {
    id: '3',
    title,
    goal,
    verdict: w.ratio < 0.95 || !lookupsOk ? 'MISS' : small ? 'not measured' : 'PASS',
    value: list.map((r) => `${fmt(r.ratio)} ${r.server}`).join(', '),
    note: notes.join('; ') || undefined,
  };
}

/** Per round, the best valid-key rate of `ours` over the best of `theirs`; the median over rounds. */
function bestRatio(ours: readonly CaseResult[], theirs: readonly CaseResult[]): number {
  const rounds = Math.max(...[...ours, ...theirs].map((c) => c.runs.length));
  const perRound: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const best = (list: readonly CaseResult[]) => {
      const values = list.flatMap((c) => c.runs.slice(r, r + 1).map(throughput)).filter(Number.isFinite);
      return values.length > 0 ? Math.max(...values) : Number.NaN;
    };
    const a = best(ours);
    const b = best(theirs);
    if (Number.isFinite(a) && Number.isFinite(b) && b > 0) perRound.push(a / b);
  }
  return median(perRound);
}

/**
 * Judged against every peer including the hand-written node:http floor (the strict
 * reading); the ratio against the fastest library peer is printed beside it.
 */
function target4(input: TargetInput): TargetResult {
  const title = "keyward's fastest adapter, valid key / fastest peer, valid key";
  const goal = '>= 1.10';
  const valid = (servers: readonly ServerResult[]) =>
    servers.map((s) => find(input, s.id, 'valid')).filter((c): c is CaseResult => c !== undefined);
  const ours = valid(input.servers.filter((s) => s.group === 'keyward'));
  const peers = valid(input.servers.filter((s) => s.group === 'peer'));
  const libraries = valid(input.servers.filter((s) => s.group === 'peer' && !s.floor));
  if (ours.length === 0 || peers.length === 0) return notMeasured('4', title, goal, 'needs both sides');
  const ratio = bestRatio(ours, peers);
  const level = (c: CaseResult) => c.perCore ?? c.rps;
  const top = (list: readonly CaseResult[]) => list.reduce((a, b) => (level(b) > level(a) ? b : a));
  const [a, b] = [top(ours), top(peers)];
  const value = `${fmt(ratio)} (${a.server} ${Math.round(level(a))} vs ${b.server} ${Math.round(level(b))} req/s per core)`;
  const note =
    libraries.length > 0 && libraries.length < peers.length
      ? `against the fastest library peer (${top(libraries).server}), without the hand-written floor: ${fmt(bestRatio(ours, libraries))}`
      : undefined;
  return { id: '4', title, goal, verdict: ratio >= 1.1 ? 'PASS' : 'MISS', value, ...(note ? { note } : {}) };
}

function microTarget(
  id: string,
  title: string,
  limitUs: number,
  m: MicroResult | undefined,
  reason: string | undefined,
): TargetResult {
  const goal = limitUs >= 1000 ? `< ${limitUs / 1000} ms` : `< ${limitUs} µs`;
  if (!m) return notMeasured(id, title, goal, reason ?? 'not run');
  const notes = [
    m.cpuP99Us !== undefined ? `CPU time per sample: p99 ${m.cpuP99Us.toFixed(1)} µs` : '',
    m.unknownP99Us !== undefined ? `unknown keys: p99 ${m.unknownP99Us.toFixed(1)} µs` : '',
    m.keys < FULL_STORE ? `store held ${m.keys} keys` : '',
  ];
  return {
    id,
    title,
    goal,
    verdict: m.p99Us < limitUs && m.keys >= FULL_STORE ? 'PASS' : 'MISS',
    value: `p99 ${m.p99Us.toFixed(1)} µs (p50 ${m.p50Us.toFixed(1)}, ${m.samples} samples)`,
    note: notes.filter(Boolean).join('; ') || undefined,
  };
}

function target5(input: TargetInput): TargetResult[] {
  return [
    microTarget(
      '5a',
      'uncached verify p99 in process, SQLite with 1M keys (file in the OS page cache)',
      100,
      input.micro,
      input.microReason,
    ),
    microTarget(
      '5b',
      'uncached verify p99 in process, PostgreSQL on loopback with 1M keys',
      1000,
      input.pgMicro,
      input.pgReason,
    ),
  ];
}

function target7(input: TargetInput): TargetResult {
  const id = '7';
  const title = 'revocation on one instance enforced by another (shared PostgreSQL), p99';
  const goal = '< 50 ms';
  const r = input.revocation;
  if (!r) return notMeasured(id, title, goal, input.revocationReason ?? 'not run');
  return {
    id,
    title,
    goal,
    verdict: r.p99Ms < 50 && r.missed === 0 ? 'PASS' : 'MISS',
    value: `p99 ${r.p99Ms.toFixed(1)} ms after the commit (p50 ${r.p50Ms.toFixed(1)}, max ${r.maxMs.toFixed(1)}, ${r.samples} revocations)`,
    note: [
      `p99 ${r.fromCallP99Ms.toFixed(1)} ms from the revoke call`,
      r.missed ? `${r.missed} not enforced within 5 s` : '',
      'carried by PostgreSQL LISTEN/NOTIFY (the change feed); Redis is not on the revocation path',
    ]
      .filter(Boolean)
      .join('; '),
  };
}

function target6(input: TargetInput): TargetResult[] {
  const out: TargetResult[] = [];
  const a = 'issue or import 1,000,000 keys';
  const b = 'server RSS under load, 1M-key store';
  const build = input.storeBuild;
  if (!build) out.push(notMeasured('6a', a, '< 20 s', input.storeReason ?? 'store not built'));
  else {
    out.push({
      id: '6a',
      title: a,
      goal: '< 20 s',
      verdict: build.seconds < 20 && build.keys >= FULL_STORE ? 'PASS' : 'MISS',
      value: `${build.seconds.toFixed(1)} s for ${build.keys} keys (${build.method})`,
      note: build.cached ? `timed when the cache file was built, ${build.builtAt}` : undefined,
    });
  }
  const store = input.servers.filter((s) => s.group === 'keyward' && s.keys === 'store');
  const rss = store.filter((s) => s.rssPeakMiB !== undefined);
  if (rss.length === 0)
    out.push(notMeasured('6b', b, '< 150 MB', input.storeReason ?? 'no store server ran'));
  else {
    const peak = Math.max(...rss.map((s) => s.rssPeakMiB!));
    out.push({
      id: '6b',
      title: b,
      goal: '< 150 MB',
      verdict: peak < 150 && rss.every((s) => (s.storeKeys ?? 0) >= FULL_STORE) ? 'PASS' : 'MISS',
      value: rss.map((s) => `${s.rssPeakMiB!.toFixed(0)} MiB ${s.id}`).join(', '),
      note: storeNote(rss),
    });
  }
  return out;
}

const ADDRESSES = 1_000_000;

/** Issue 14: failure limits keep bounded state however many addresses fail. */
function target8(input: TargetInput): TargetResult {
  const id = '8';
  const title = 'RSS growth of failure limits over 1,000,000 distinct client addresses';
  const goal = '< 64 MiB';
  const m = input.addressMemory;
  if (!m) return notMeasured(id, title, goal, input.addressMemoryReason ?? 'not run');
  return {
    id,
    title,
    goal,
    verdict: m.growthPeakMiB < 64 && m.addresses >= ADDRESSES ? 'PASS' : 'MISS',
    value: `peak +${m.growthPeakMiB.toFixed(1)} MiB (${m.addresses} addresses, ${m.requests} requests)`,
    note: [
      `+${m.growthEndMiB.toFixed(1)} MiB after a full collection, of which live JS objects +${m.heapGrowthMiB.toFixed(1)} MiB and the tables +${m.arrayBuffersGrowthMiB.toFixed(1)} MiB${m.newSpaceMiB === undefined ? '' : `; V8's young generation ${m.newSpaceMiB.toFixed(0)} MiB`}`,
      `held at the end: ${m.counters} failure counters, ${m.blocked} blocked addresses, ${m.known} (address, key) pairs`,
      m.addresses < ADDRESSES ? `only ${m.addresses} addresses` : '',
    ]
      .filter(Boolean)
      .join('; '),
  };
}

/**
 * Judges every target of issue 6 (and target 8, of issue 14), then issue 16's points (ids
 * `16.*`, see points.ts); unmeasurable ones say why, never pass.
 */
export function evaluateTargets(input: TargetInput): TargetResult[] {
  const issue6 = [
    target1(input),
    target2(input),
    target3(input),
    target4(input),
    ...target5(input),
    ...target6(input),
    target7(input),
    target8(input),
  ];
  return [...issue6, ...evaluatePoints({ servers: input.servers, cases: input.cases, targets: issue6 })];
}
