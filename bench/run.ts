/**
 * `npm run bench [-- --quick] [-- --only REGEX] [-- --loadgen wrk|autocannon]`
 *
 * Starts every benchmark server (bench/servers) on 127.0.0.1 pinned to CPU 0, drives each
 * case with wrk (or autocannon) pinned to CPU 1, interleaves the cases in rounds, and
 * prints one table of medians and same-run ratios with the issue-6 targets. Writes
 * bench/results/<timestamp>.json and latest.json (+ latest.md for the docs).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compileBench } from './lib/build.js';
import { type KeyMaterial, loadRequest, runProblem, summarise } from './lib/cases.js';
import { gitState, MEASURED_PACKAGES, machine, pinning, versions } from './lib/env.js';
import { corrupt, staticKey, take, writeKeyFile } from './lib/keys.js';
import { prepareStore, storeUnavailable } from './lib/keystore.js';
import { chooseLoadGenerator } from './lib/loadgen.js';
import {
  CASES,
  type CaseName,
  type CaseResult,
  type RunResult,
  type ServerResult,
  type StoreBuild,
} from './lib/model.js';
import { measureOffline } from './lib/offline.js';
import { setNiceness } from './lib/proc.js';
import { type RegisteredServer, registry, serveBaseline } from './lib/registry.js';
import { type BenchReport, header, render, write } from './lib/report.js';
import { type RunningServer, startServe, startServer } from './lib/servers.js';
import { evaluateTargets } from './lib/targets.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    loadgen: { type: 'string' },
    nice: { type: 'string' },
    rounds: { type: 'string' },
    'serve-baseline': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'npm run bench [-- --quick] [--only REGEX (server ids)] [--rounds N] [--serve-baseline BIN] [--loadgen wrk|autocannon] [--nice=N]\nSee docs/operations/performance.md.\n',
  );
  process.exit(0);
}
if (args.loadgen !== undefined && args.loadgen !== 'wrk' && args.loadgen !== 'autocannon') {
  throw new Error('--loadgen must be wrk or autocannon');
}
const niceness = Number(args.nice ?? 0);
if (!Number.isInteger(niceness) || niceness < -20 || niceness > 19) throw new Error('--nice must be -20..19');
setNiceness(niceness);

const CONNECTIONS = 50;
const STORE_KEYS = 1_000_000;
const quick = args.quick!;
const t0 = performance.now();
const log = (line: string) =>
  process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s ${line}\n`);
const cacheDir = fileURLToPath(new URL('./.cache/', import.meta.url));
mkdirSync(cacheDir, { recursive: true });
// The tree about to be compiled, which is what the servers run (later edits do not count).
const git = gitState();
log('compiling keyward and the benchmark servers (they run as tsc output, as the package does)');
compileBench();

const startedAt = new Date();
const machineBefore = machine();
const pins = pinning();
const gen = chooseLoadGenerator(
  args.loadgen as 'wrk' | 'autocannon' | undefined,
  versions(['autocannon']).autocannon!,
);
if (gen.note) log(`note: ${gen.note}`);
const notes: string[] = gen.note ? [gen.note] : [];
if (!pins.server) notes.push(pins.note);

// The key store, when it exists: its 1M-key file is built once and cached.
const storeReason = storeUnavailable();
let store: Awaited<ReturnType<typeof prepareStore>> | undefined;
if (!storeReason) {
  const path = `${cacheDir}keys-${STORE_KEYS}.db`;
  const target = { kind: 'sqlite', path } as const;
  store = await prepareStore({ target, base: path, keys: STORE_KEYS, mayBuild: true, log });
}

const only = args.only ? new RegExp(args.only) : undefined;
const baselineBin = args['serve-baseline'];
const specs = [
  ...registry(store !== undefined),
  ...(baselineBin && store ? [serveBaseline(baselineBin)] : []),
].filter((s) => (!quick || s.quick) && (!only || only.test(s.id)));
const totalCases = specs.reduce((n, s) => n + s.cases.length, 0);

// Full: a warm-up per case, then as many 1-second rounds (3..7) as fit in about 7 minutes.
// On a shared machine more short paired rounds give steadier medians than a few long ones.
const seconds = 1;
const warmupSeconds = 1;
const fitted = quick
  ? 1
  : Math.max(3, Math.min(7, Math.floor((420 / Math.max(1, totalCases) - warmupSeconds) / (seconds + 0.25))));
// --rounds: more paired rounds for a subset (--only) while working on one path.
const rounds = args.rounds === undefined ? fitted : Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error('--rounds must be 1..50');
log(
  `${specs.length} servers, ${totalCases} cases, ${rounds} round(s) of ${seconds} s (${quick ? 'quick' : 'full'})`,
);

// Fresh unknown keys for the flood: enough that no run repeats one.
const floodRuns = rounds + 1;
const poolSize = Math.max(50_000, Math.ceil(20_000 * seconds * floodRuns));
const staticValid = staticKey();
const staticKeys: KeyMaterial = {
  valid: staticValid,
  malformed: corrupt(staticValid),
  unknown: staticKey(),
  floodValid: [staticValid],
  validFile: writeKeyFile(`${cacheDir}static-valid.txt`, [staticValid]),
  unknownFile: writeKeyFile(`${cacheDir}static-unknown.txt`, take(poolSize, staticKey)),
  unknownCount: poolSize,
};
// The flood's valid half cycles through 1,000 clients' keys, all cached before it runs.
const floodValid = store?.valid.slice(0, 1000) ?? [];
const storeKeys: KeyMaterial | undefined = store && {
  valid: store.valid[0]!,
  malformed: store.malformed(),
  unknown: store.wellFormed(),
  floodValid,
  validFile: writeKeyFile(`${cacheDir}store-valid.txt`, floodValid),
  unknownFile: writeKeyFile(`${cacheDir}store-unknown.txt`, take(poolSize, store.wellFormed)),
  unknownCount: poolSize,
};
const keysOf = (s: RegisteredServer) => (s.keys === 'store' ? storeKeys! : staticKeys);

const running = new Map<string, RunningServer>();
/** `keyward serve`'s request-log lines, counted once it has exited (and flushed). */
const logLines = new Map<string, number>();
/** Requests completed on each server: the load generator's, warm-ups included, and the harness's own. */
const served = new Map<string, number>();
const count = (id: string, n: number) => served.set(id, (served.get(id) ?? 0) + n);
async function stopAll(): Promise<void> {
  await Promise.all([...running.values()].map((s) => s.stop()));
  for (const [id, s] of running) if (s.logLines) logLines.set(id, s.logLines());
  running.clear();
}
process.on('SIGINT', () => {
  void stopAll().then(() => process.exit(130));
});

const runs = new Map<string, RunResult[]>();
const problems = new Map<string, string>();
const floodOffset = new Map<string, number>();
const lookups = new Map<string, { unknown: number; unknownRequests: number; flood: number; fresh: number }>();
const caseKey = (s: RegisteredServer, c: CaseName) => `${s.id} ${c}`;

async function lookupCount(server: RunningServer): Promise<number | undefined> {
  const res = await server.get('/__bench/stats');
  return res.status === 200 ? (JSON.parse(res.body) as { lookups: number }).lookups : undefined;
}

async function measure(spec: RegisteredServer, name: CaseName, secs: number, record: boolean): Promise<void> {
  const server = running.get(spec.id)!;
  const k = caseKey(spec, name);
  if (problems.has(k)) return;
  const offset = floodOffset.get(spec.id) ?? 0;
  const request = loadRequest(spec, server.url, name, keysOf(spec), CONNECTIONS, secs, offset);
  // serve has no stats route: its store lookups are not counted.
  const counting = spec.keys === 'store' && !spec.serve && (name === 'unknown' || name === 'flood');
  const before = counting ? await lookupCount(server) : undefined;
  const cpu0 = server.cpuSeconds();
  const t0 = performance.now();
  const sampler = setInterval(() => server.sampleRss(), 250);
  let run: RunResult;
  try {
    run = await gen.run(request, pins.load);
  } finally {
    clearInterval(sampler);
  }
  const cpu1 = server.cpuSeconds();
  const wall = (performance.now() - t0) / 1000;
  if (cpu0 !== undefined && cpu1 !== undefined && cpu1 > cpu0) {
    run = { ...run, serverCpu: (100 * (cpu1 - cpu0)) / wall, perCore: run.requests / (cpu1 - cpu0) };
  }
  if (name === 'flood') floodOffset.set(spec.id, offset + (run.generated ?? 0));
  count(spec.id, run.requests);
  if (!record) return;
  if (counting && before !== undefined) {
    const after = await lookupCount(server);
    const l = lookups.get(spec.id) ?? { unknown: 0, unknownRequests: 0, flood: 0, fresh: 0 };
    if (after !== undefined && name === 'unknown') {
      l.unknown += after - before;
      l.unknownRequests += run.requests;
    }
    if (after !== undefined && name === 'flood') {
      l.flood += after - before;
      l.fresh += run.generated ?? 0;
    }
    lookups.set(spec.id, l);
  }
  const problem = runProblem(name, run);
  if (problem) problems.set(k, problem);
  if (problem) run = { ...run, rps: Number.NaN, perCore: Number.NaN };
  runs.set(k, [...(runs.get(k) ?? []), run]);
  const cpu = run.serverCpu === undefined ? '' : `, server CPU ${Math.round(run.serverCpu)}%`;
  log(`  ${spec.id.padEnd(20)} ${name.padEnd(9)} ${Math.round(run.rps).toString().padStart(7)} rps${cpu}`);
}

/** One request per case, checking the server answers it as the case means. */
async function preflight(spec: RegisteredServer): Promise<void> {
  const server = running.get(spec.id)!;
  const keys = keysOf(spec);
  const expect: Partial<Record<CaseName, [number, string | undefined]>> = {
    public: [200, undefined],
    valid: [200, keys.valid],
    missing: [401, undefined],
    malformed: [401, keys.malformed],
    unknown: [401, keys.unknown],
  };
  for (const name of spec.cases) {
    const e = expect[name];
    if (!e) continue;
    const headers: Record<string, string> = e[1] === undefined ? {} : { [spec.header]: spec.prefix + e[1] };
    const res = await server.get(name === 'public' ? '/health' : '/secure-data', headers);
    count(spec.id, 1);
    if (res.status !== e[0])
      problems.set(caseKey(spec, name), `preflight: HTTP ${res.status}, expected ${e[0]}`);
  }
  // Every key of the flood's valid half is used once first, so that half measures cached keys.
  if (spec.cases.includes('flood')) {
    const pool = [...keys.floodValid];
    const worker = async () => {
      for (let key = pool.pop(); key !== undefined; key = pool.pop()) {
        await server.get('/secure-data', { [spec.header]: spec.prefix + key });
        count(spec.id, 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }
}

async function start(spec: RegisteredServer): Promise<void> {
  if (spec.serve) {
    if (store?.target.kind !== 'sqlite') throw new Error(`${spec.id} needs the SQLite store`);
    const options = {
      id: spec.id,
      database: store.target.path,
      logLevel: spec.serve.logLevel,
      ...(spec.serve.bin ? { bin: spec.serve.bin } : {}),
    };
    running.set(spec.id, await startServe({ ...options, cpu: pins.server }));
    await preflight(spec);
    return;
  }
  const config = {
    key: staticKeys.valid,
    keys: spec.keys,
    ...(spec.form ? { form: spec.form } : {}),
    ...(spec.keys === 'store' && store ? { store: store.target, pepper: store.pepper } : {}),
  };
  running.set(spec.id, await startServer({ id: spec.id, entry: spec.entry, config, cpu: pins.server }));
  await preflight(spec);
}

/**
 * Waits until no server uses more than 5 % of a core while idle (at most 30 s): a store
 * server loads its membership filter of 1M key tags in the background after it starts (a
 * second or more of CPU each), which must not land in the measured cases.
 */
async function settle(): Promise<void> {
  const deadline = performance.now() + 30_000;
  const busy = new Set(running.values());
  while (busy.size > 0 && performance.now() < deadline) {
    const before = new Map([...busy].map((s) => [s, s.cpuSeconds()]));
    await new Promise((done) => setTimeout(done, 500));
    for (const [s, cpu0] of before) {
      const cpu1 = s.cpuSeconds();
      if (cpu0 === undefined || cpu1 === undefined || cpu1 - cpu0 < 0.025) busy.delete(s);
    }
  }
  if (busy.size > 0) log(`  still busy after 30 s: ${[...busy].map((s) => s.id).join(', ')}`);
}

/** The server's cases, rotated by the round, so no case is always the first after a switch. */
function order(spec: RegisteredServer, round: number): readonly CaseName[] {
  const n = spec.cases.length;
  return spec.cases.map((_, i) => spec.cases[(i + round) % n]!);
}

try {
  log('starting servers');
  const started = await Promise.allSettled(specs.map(start));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  log('waiting for the servers to settle');
  await settle();
  log('warm-up');
  for (const spec of specs) {
    for (const name of quick ? (['valid'] as const) : spec.cases)
      await measure(spec, name, warmupSeconds, false);
  }
  for (let r = 0; r < rounds; r++) {
    log(`round ${r + 1}/${rounds}`);
    for (const spec of specs) for (const name of order(spec, r)) await measure(spec, name, seconds, true);
  }
} catch (error) {
  await stopAll();
  throw error;
}
const rss = new Map([...running].map(([id, s]) => [id, s.rssPeakMiB]));
await stopAll();

// Targets 5, 7 and 8 run after the servers are gone, in their own processes.
const offline = await measureOffline({
  quick,
  cacheDir,
  keys: STORE_KEYS,
  cpu: pins.server,
  log,
  sqlite: store,
  sqliteReason: storeReason,
});

const cases: CaseResult[] = [];
for (const spec of specs) {
  for (const name of spec.cases) {
    const list = runs.get(caseKey(spec, name)) ?? [];
    const base = CASES[name].baseline;
    const baseline = base ? runs.get(caseKey(spec, base)) : undefined;
    cases.push(summarise(spec.id, name, list, baseline, problems.get(caseKey(spec, name))));
  }
}
const servers: ServerResult[] = specs.map((s) => {
  const l = lookups.get(s.id);
  const peak = rss.get(s.id);
  return {
    id: s.id,
    ...(s.floor ? { floor: s.floor } : {}),
    label: s.label,
    group: s.group,
    framework: s.framework,
    keys: s.keys,
    ...(s.note ? { note: s.note } : {}),
    ...(peak !== undefined ? { rssPeakMiB: peak } : {}),
    ...(s.keys === 'store' && store ? { storeKeys: store.keys } : {}),
    ...(l ? { unknownLookups: { lookups: l.unknown, requests: l.unknownRequests } } : {}),
    ...(l ? { floodLookups: { lookups: l.flood, freshKeys: l.fresh } } : {}),
    ...(s.serve
      ? {
          requestLog: {
            level: s.serve.logLevel,
            lines: logLines.get(s.id) ?? 0,
            requests: served.get(s.id) ?? 0,
          },
        }
      : {}),
  };
});
for (const [id, used] of floodOffset) {
  if (used > poolSize)
    notes.push(`${id}: the flood used ${used} unknown keys from a pool of ${poolSize}; some repeated`);
}
const storeBuild: StoreBuild | undefined = store?.build;
const targets = evaluateTargets({
  servers,
  cases,
  ...offline,
  ...(storeBuild ? { storeBuild } : {}),
  ...(storeReason ? { storeReason } : {}),
});
const finishedAt = new Date();
const report: BenchReport = {
  mode: quick ? 'quick' : 'full',
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  seconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
  machine: machineBefore,
  machineAfter: { loadAverage: machine().loadAverage },
  pinning: pins,
  loadGenerator: {
    name: gen.name,
    version: gen.version,
    ...(gen.note ? { note: gen.note } : {}),
    threads: 1,
    connections: CONNECTIONS,
  },
  settings: { rounds, seconds, warmupSeconds, nice: niceness },
  git,
  versions: { keyward: 'this tree', ...versions(MEASURED_PACKAGES) },
  keyLengths: { static: staticKeys.valid.length, ...(storeKeys ? { store: storeKeys.valid.length } : {}) },
  servers,
  cases,
  ...offline,
  ...(storeBuild ? { storeBuild } : {}),
  targets,
  notes,
};
const file = write(report);
process.stdout.write(`\n${header(report)}\n\n${render(report, 'text')}\n\nwrote ${file}\n`);
process.exit(0);
