/**
 * Issue 16's four performance points, judged on the same run as issue 6's targets:
 * `keyward serve` as a user runs it (points 1 and 2), the library targets restated against
 * the hand-written references measured in the same run (point 3), and the other targets
 * unchanged (point 4). Thresholds are the issue's; a miss prints its figure.
 */
import { type CaseName, type CaseResult, type ServerResult, type TargetResult, throughput } from './model.js';
import { pairedRatio } from './stats.js';

/** What the points are judged on: the run's servers and cases, and issue 6's verdicts. */
export interface PointInput {
  readonly servers: readonly ServerResult[];
  readonly cases: readonly CaseResult[];
  /** Issue 6's targets of this run (point 3 restates 4, point 4 carries 5a to 8). */
  readonly targets: readonly TargetResult[];
}

/** The thresholds, as the issue states them. */
export const POINTS = {
  logOverSilent: 0.9,
  publicOverBareHono: 0.85,
  validOverPublic: 0.85,
  refusalOverValid: 0.97,
  floodOverCycle: 0.95,
  /** Point 3: at least the reference's own ratio minus this. */
  referenceSlack: 0.03,
} as const;

const FULL_STORE = 1_000_000;
const fmt = (x: number) => x.toFixed(2);
const REFUSALS: readonly CaseName[] = ['missing', 'malformed', 'unknown'];

/** The verdict of a ratio against its floor; unmeasured when it is not a number. */
const verdict = (value: number, min: number): TargetResult['verdict'] =>
  !Number.isFinite(value) ? 'not measured' : value >= min ? 'PASS' : 'MISS';

function find(input: PointInput, server: string, name: CaseName): CaseResult | undefined {
  return input.cases.find((c) => c.server === server && c.case === name && !c.problem);
}

/** Per round, `a`'s throughput over `b`'s (two servers, same round); the median over rounds. */
function across(a: CaseResult | undefined, b: CaseResult | undefined): number {
  if (!a || !b) return Number.NaN;
  return pairedRatio(a.runs.map(throughput), b.runs.map(throughput));
}

const ratioOf = (input: PointInput, server: string, name: CaseName) =>
  find(input, server, name)?.ratio ?? Number.NaN;

function point(
  id: string,
  title: string,
  goal: string,
  value: number,
  min: number,
  shown: string,
  notes: readonly (string | undefined)[] = [],
): TargetResult {
  const note = notes.filter(Boolean).join('; ');
  return {
    id,
    title,
    goal,
    verdict: verdict(value, min),
    ...(Number.isFinite(value) ? { value: shown } : {}),
    ...(note ? { note } : {}),
  };
}

/** Worse of two verdicts: a miss wins, then not measured. */
function worse(a: TargetResult['verdict'], b: TargetResult['verdict']): TargetResult['verdict'] {
  if (a === 'MISS' || b === 'MISS') return 'MISS';
  return a === 'not measured' || b === 'not measured' ? 'not measured' : 'PASS';
}

function serveServers(input: PointInput) {
  const service = input.servers.filter((s) => s.group === 'service');
  return {
    logged: service.find((s) => s.requestLog?.level !== 'silent'),
    silent: service.find((s) => s.requestLog?.level === 'silent'),
  };
}

function smallStore(s: ServerResult | undefined): string | undefined {
  return s && (s.storeKeys ?? 0) < FULL_STORE
    ? `${s.id}'s store held ${s.storeKeys ?? '?'} keys, not 1,000,000`
    : undefined;
}

/** Point 1: the default request log costs at most 10 % of the public route, and loses no line. */
function point1(input: PointInput): TargetResult {
  const title =
    'serve public route with its default request log / the same with --log-level silent; every request logged';
  const { logged, silent } = serveServers(input);
  const ratio = across(
    logged && find(input, logged.id, 'public'),
    silent && find(input, silent.id, 'public'),
  );
  const log = logged?.requestLog;
  const lost = log !== undefined && log.lines < log.requests;
  const result = point(
    '16.1',
    title,
    `>= ${fmt(POINTS.logOverSilent)}`,
    ratio,
    POINTS.logOverSilent,
    `${fmt(ratio)} (${logged?.id} vs ${silent?.id}, req/s per core)`,
    [
      log ? `${log.lines} log lines for ${log.requests} requests completed` : 'request log not counted',
      'durability on SIGTERM and on a crash: test/cli/serve-log-durability.test.ts',
    ],
  );
  return lost ? { ...result, verdict: 'MISS' } : result;
}

/** Point 2: serve against a bare Hono app, and its own paths against its public route. */
function point2(input: PointInput): TargetResult[] {
  const { logged: serve, silent } = serveServers(input);
  const bare = input.servers.find((s) => s.group === 'reference' && s.id === 'hono-bare');
  const id = serve?.id ?? 'serve';
  const out: TargetResult[] = [];
  const pub = across(find(input, id, 'public'), bare && find(input, bare.id, 'public'));
  const silentPub =
    silent && across(find(input, silent.id, 'public'), bare && find(input, bare.id, 'public'));
  out.push(
    point(
      '16.2a',
      'serve public route / a bare Hono app on @hono/node-server answering the same JSON',
      `>= ${fmt(POINTS.publicOverBareHono)}`,
      pub,
      POINTS.publicOverBareHono,
      `${fmt(pub)} (${id} vs ${bare?.id}, req/s per core)`,
      [
        silentPub !== undefined && Number.isFinite(silentPub)
          ? `${silent!.id}: ${fmt(silentPub)}`
          : undefined,
      ],
    ),
  );
  const valid = ratioOf(input, id, 'valid');
  const silentValid = silent ? ratioOf(input, silent.id, 'valid') : Number.NaN;
  const small = smallStore(serve);
  const b = point(
    '16.2b',
    "serve valid stored key (1M-key store) / serve's own public route",
    `>= ${fmt(POINTS.validOverPublic)}`,
    valid,
    POINTS.validOverPublic,
    `${fmt(valid)} ${id}`,
    [Number.isFinite(silentValid) ? `${silent!.id}: ${fmt(silentValid)}` : undefined, small],
  );
  out.push(small && b.verdict === 'PASS' ? { ...b, verdict: 'not measured' } : b);
  const refusals = REFUSALS.map((name) => ({ name, ratio: ratioOf(input, id, name) }));
  const measured = refusals.filter((r) => Number.isFinite(r.ratio));
  const worst = measured.reduce<(typeof measured)[number] | undefined>(
    (w, r) => (w === undefined || r.ratio < w.ratio ? r : w),
    undefined,
  );
  const unmeasured = refusals.filter((r) => !Number.isFinite(r.ratio)).map((r) => r.name);
  const c = point(
    '16.2c',
    'serve missing, malformed and unknown key / serve valid key',
    `>= ${fmt(POINTS.refusalOverValid)}`,
    worst?.ratio ?? Number.NaN,
    POINTS.refusalOverValid,
    `${measured.map((r) => `${fmt(r.ratio)} ${r.name}`).join(', ')}`,
    [unmeasured.length ? `not measured: ${unmeasured.join(', ')}` : undefined],
  );
  out.push(unmeasured.length && c.verdict === 'PASS' ? { ...c, verdict: 'not measured' } : c);
  const flood = ratioOf(input, id, 'flood');
  const cycle = ratioOf(input, id, 'cycle');
  out.push(
    point(
      '16.2d',
      "serve 50/50 flood (valid + fresh well-formed unknown keys) / all valid through the flood's script",
      `>= ${fmt(POINTS.floodOverCycle)}`,
      flood,
      POINTS.floodOverCycle,
      `${fmt(flood)} ${id}`,
      [
        Number.isFinite(cycle)
          ? `the script with valid keys only ran at ${fmt(cycle)} of the plain valid case`
          : undefined,
      ],
    ),
  );
  return out;
}

/** The reference on the same framework, for point 3. */
function referenceFor(input: PointInput, framework: ServerResult['framework']): ServerResult | undefined {
  return input.servers.find(
    (s) => s.group === 'reference' && s.framework === framework && s.id.endsWith('keyed-floor'),
  );
}

/**
 * Point 3a: valid stored key through `protect` (Hono) and `keyward/node`, as a ratio to the
 * public route, at least the same-run hand-written keyed check's ratio minus 0.03.
 */
function point3a(input: PointInput): TargetResult {
  const title =
    'valid stored key / public route, keyward/hono protect and keyward/node, >= the hand-written keyed check on that framework minus 0.03';
  const goal = `>= ref - ${POINTS.referenceSlack}`;
  const judged = input.servers.filter(
    (s) =>
      s.group === 'keyward' &&
      s.keys === 'store' &&
      (s.id === 'keyward-hono-protect-store' || s.id === 'keyward-node-store'),
  );
  const rows: { text: string; margin: number }[] = [];
  const missing: string[] = [];
  for (const s of judged) {
    const ref = referenceFor(input, s.framework);
    const ours = ratioOf(input, s.id, 'valid');
    const theirs = ref ? ratioOf(input, ref.id, 'valid') : Number.NaN;
    if (!Number.isFinite(ours) || !Number.isFinite(theirs)) {
      missing.push(s.id);
      continue;
    }
    rows.push({
      text: `${fmt(ours)} ${s.id} vs ${fmt(theirs)} ${ref!.id}`,
      margin: ours - (theirs - POINTS.referenceSlack),
    });
  }
  const frameworks = new Set(judged.filter((s) => !missing.includes(s.id)).map((s) => s.framework));
  const absent = ['hono', 'node'].filter((f) => !frameworks.has(f as 'hono'));
  const info = input.servers
    .filter((s) => s.group === 'keyward' && s.id === 'keyward-hono-store')
    .map((s) => ratioOf(input, s.id, 'valid'))
    .filter(Number.isFinite)
    .map((r) => `apiKeyAuth middleware (keyward-hono-store, not judged): ${fmt(r)}`);
  const worst = Math.min(...rows.map((r) => r.margin));
  const v: TargetResult['verdict'] = rows.some((r) => r.margin < -1e-9)
    ? 'MISS'
    : absent.length || rows.length === 0
      ? 'not measured'
      : 'PASS';
  return {
    id: '16.3a',
    title,
    goal,
    verdict: v,
    ...(rows.length ? { value: rows.map((r) => r.text).join(', ') } : {}),
    note:
      [
        rows.length ? `worst margin ${worst >= 0 ? '+' : ''}${fmt(worst)}` : undefined,
        absent.length ? `not measured on ${absent.join(', ')}` : undefined,
        ...info,
      ]
        .filter(Boolean)
        .join('; ') || undefined,
  };
}

/**
 * Point 3b: every refusal (missing, malformed, unknown) of keyward on Hono and node:http, as
 * a ratio to its valid case, at least the reference's own ratio for that refusal minus 0.03.
 * The hand-written check has no checksum: a malformed key is an unknown key to it, so
 * `malformed` is held to the reference's `unknown`.
 */
function point3b(input: PointInput): TargetResult {
  const title =
    "every refusal / valid key, keyward on Hono and node:http, >= the reference's own refusal ratio minus 0.03";
  const goal = `>= ref - ${POINTS.referenceSlack}`;
  const judged = input.servers.filter(
    (s) => s.group === 'keyward' && (s.framework === 'hono' || s.framework === 'node'),
  );
  let worst: { text: string; margin: number } | undefined;
  let compared = 0;
  for (const s of judged) {
    const ref = referenceFor(input, s.framework);
    if (!ref) continue;
    for (const name of REFUSALS) {
      const ours = ratioOf(input, s.id, name);
      const theirs = ratioOf(input, ref.id, name === 'malformed' ? 'unknown' : name);
      if (!Number.isFinite(ours) || !Number.isFinite(theirs)) continue;
      compared++;
      const margin = ours - (theirs - POINTS.referenceSlack);
      if (worst === undefined || margin < worst.margin) {
        worst = { margin, text: `${fmt(ours)} ${s.id} ${name} vs ${fmt(theirs)} ${ref.id}` };
      }
    }
  }
  if (!worst)
    return { id: '16.3b', title, goal, verdict: 'not measured', note: 'no refusal with a reference ran' };
  return {
    id: '16.3b',
    title,
    goal,
    verdict: worst.margin < -1e-9 ? 'MISS' : 'PASS',
    value: `worst ${worst.text}`,
    note: `margin ${worst.margin >= 0 ? '+' : ''}${fmt(worst.margin)} over ${compared} refusal cases`,
  };
}

/** Point 3c is issue 6's target 4, unchanged: beat the fastest peer by 10 %. */
function point3c(input: PointInput): TargetResult {
  const t4 = input.targets.find((t) => t.id === '4');
  const title = "keyward's fastest adapter, valid key / fastest peer (target 4, unchanged)";
  if (!t4) return { id: '16.3c', title, goal: '>= 1.10', verdict: 'not measured' };
  return { ...t4, id: '16.3c', title };
}

/**
 * Point 4: issue 6's targets 5a to 8 (uncached p99, 1M import, RSS, revocation, failure
 * limits' memory) as they are; serve's own RSS is held to target 6b's limit too.
 */
function point4(input: PointInput): TargetResult {
  const ids = ['5a', '5b', '6a', '6b', '7', '8'];
  const list = ids.map((id) => input.targets.find((t) => t.id === id));
  let v: TargetResult['verdict'] = 'PASS';
  for (const t of list) v = worse(v, t?.verdict ?? 'not measured');
  const serve = input.servers.filter((s) => s.group === 'service' && s.rssPeakMiB !== undefined);
  const rssLimit = 150;
  for (const s of serve) if (s.rssPeakMiB! >= rssLimit) v = 'MISS';
  return {
    id: '16.4',
    title:
      'uncached verify p99, 1M-key import, RSS (serve too), revocation, failure-limit memory: as they are',
    goal: 'T5a-T8',
    verdict: v,
    value: list.map((t, i) => `T${ids[i]} ${t?.verdict ?? 'not measured'}`).join(', '),
    ...(serve.length
      ? {
          note: `serve RSS under load (< ${rssLimit} MB): ${serve.map((s) => `${s.rssPeakMiB!.toFixed(0)} MiB ${s.id}`).join(', ')}`,
        }
      : {}),
  };
}

/** Judges issue 16's points on one run. */
export function evaluatePoints(input: PointInput): TargetResult[] {
  return [point1(input), ...point2(input), point3a(input), point3b(input), point3c(input), point4(input)];
}
