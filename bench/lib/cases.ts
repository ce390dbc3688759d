/** Turning a (server, case) pair into a load request, and judging a finished run. */
import type { FloodSpec, LoadRequest } from './loadgen.js';
import {
  CASES,
  type CaseName,
  type CaseResult,
  type RunResult,
  type ServerSpec,
  throughput,
} from './model.js';
import { median, pairedRatio, percentile, relativeSpread } from './stats.js';

/** The keys one server is measured with. */
export interface KeyMaterial {
  readonly valid: string;
  /** Our prefix, right length, wrong checksum (for staticKeys servers: just a wrong key). */
  readonly malformed: string;
  /** Well-formed (checksum right) but in no store. */
  readonly unknown: string;
  /** The valid keys the flood cycles through (warmed into the cache before it runs). */
  readonly floodValid: readonly string[];
  /** The same keys, one per line, for the load generator. */
  readonly validFile: string;
  /** Fresh well-formed unknown keys, one per line, for the flood. */
  readonly unknownFile: string;
  /** Lines in unknownFile. */
  readonly unknownCount: number;
}

export const PUBLIC_PATH = '/health';
export const SECURE_PATH = '/secure-data';

export function loadRequest(
  server: ServerSpec,
  url: string,
  name: CaseName,
  keys: KeyMaterial,
  connections: number,
  seconds: number,
  floodOffset: number,
): LoadRequest {
  const target = url + (name === 'public' ? PUBLIC_PATH : SECURE_PATH);
  const key = name === 'valid' || name === 'malformed' || name === 'unknown' ? keys[name] : undefined;
  const headers: [string, string][] = key === undefined ? [] : [[server.header, server.prefix + key]];
  // `cycle` runs the flood's script with the valid keys in place of the unknown ones: the
  // same requests built the same way, so the load generator costs the same on both sides.
  const flood: FloodSpec | undefined =
    name === 'flood' || name === 'cycle'
      ? {
          header: server.header,
          prefix: server.prefix,
          validFile: keys.validFile,
          unknownFile: name === 'flood' ? keys.unknownFile : keys.validFile,
          offset: name === 'flood' ? floodOffset : 0,
        }
      : undefined;
  return { url: target, connections, seconds, headers, ...(flood ? { flood } : {}) };
}

/** Why a run cannot be trusted (socket errors, status codes other than the case's), if it cannot. */
export function runProblem(name: CaseName, run: RunResult): string | undefined {
  if (run.requests === 0) return 'no request completed';
  if (run.socketErrors > 0) return `${run.socketErrors} socket errors/timeouts`;
  const expected = CASES[name].status;
  const share = run.non2xx / run.requests;
  if (expected === 200 && run.non2xx > 0) return `${run.non2xx} responses >= 400`;
  if (expected === 401 && share < 0.99) return `${run.requests - run.non2xx} responses < 400`;
  if (expected === 'mixed' && (share < 0.4 || share > 0.6))
    return `${Math.round(share * 100)}% rejected, not ~50%`;
  return undefined;
}

/**
 * Summarises the runs of one case. `runs[i]` and `baseline[i]` come from the same round;
 * a broken run counts as NaN so rounds stay aligned.
 */
export function summarise(
  server: string,
  name: CaseName,
  runs: readonly RunResult[],
  baseline: readonly RunResult[] | undefined,
  problem: string | undefined,
): CaseResult {
  const values = runs.map(throughput);
  const base = CASES[name].baseline;
  const perCore = runs.map((r) => r.perCore).filter((x): x is number => x !== undefined);
  const cpu = runs.map((r) => r.serverCpu).filter((x): x is number => x !== undefined);
  return {
    server,
    case: name,
    runs,
    rps: median(runs.map((r) => r.rps)),
    ...(perCore.length === runs.length && runs.length > 0 ? { perCore: median(perCore) } : {}),
    ...(cpu.length > 0 ? { serverCpu: median(cpu) } : {}),
    p99Us: median(runs.map((r) => r.p99Us)),
    spread: relativeSpread(values.filter(Number.isFinite)),
    ...(base && baseline ? { baseline: base, ratio: pairedRatio(values, baseline.map(throughput)) } : {}),
    ...(problem ? { problem } : {}),
  };
}

/** Latency summary of in-process samples (nanoseconds in, microseconds out). */
export function latencySummary(samplesNs: readonly number[]) {
  const us = samplesNs.map((n) => n / 1000);
  return {
    p50Us: percentile(us, 50),
    p99Us: percentile(us, 99),
    maxUs: Math.max(...us),
  };
}
