/** Printing the results table and writing the JSON (bench/results/<timestamp>.json and latest.json). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Machine, Pinning } from './env.js';
import type {
  AddressMemoryResult,
  CaseResult,
  MicroResult,
  RevocationResult,
  ServerResult,
  StoreBuild,
  TargetResult,
} from './model.js';
import { CASE_HEADERS, caseRows, renderTable, TARGET_HEADERS, type TableStyle, targetRows } from './table.js';

export interface BenchReport {
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly machine: Machine;
  readonly machineAfter: { readonly loadAverage: readonly number[] };
  readonly pinning: Pinning;
  readonly loadGenerator: { name: string; version: string; note?: string; threads: 1; connections: number };
  readonly settings: { rounds: number; seconds: number; warmupSeconds: number; nice: number };
  readonly git: { commit: string; srcDirty: boolean };
  readonly versions: Record<string, string>;
  readonly keyLengths: Record<string, number>;
  readonly servers: readonly ServerResult[];
  readonly cases: readonly CaseResult[];
  readonly micro?: MicroResult;
  readonly pgMicro?: MicroResult;
  readonly pgBuild?: StoreBuild;
  readonly revocation?: RevocationResult;
  readonly addressMemory?: AddressMemoryResult;
  readonly storeBuild?: StoreBuild;
  readonly targets: readonly TargetResult[];
  readonly notes: readonly string[];
}

export function header(r: BenchReport): string {
  const m = r.machine;
  return [
    `keyward bench (${r.mode}), ${r.startedAt}, commit ${r.git.commit}${r.git.srcDirty ? ' + uncommitted changes to packages/ or bench/' : ''}`,
    `machine: ${m.nproc} CPUs, ${m.cpuModel}, Node ${m.node}, ${m.os}, load average ${m.loadAverage.join(' ')} -> ${r.machineAfter.loadAverage.join(' ')}`,
    `load: ${r.loadGenerator.name} ${r.loadGenerator.version}, 1 thread, ${r.loadGenerator.connections} connections; ${r.pinning.note}`,
    `runs: warm-up ${r.settings.warmupSeconds} s, then ${r.settings.rounds} round(s) of ${r.settings.seconds} s per case${r.settings.nice ? `, nice ${r.settings.nice}` : ''}; medians; ratios are medians of per-round ratios`,
  ].join('\n');
}

/** The table plus the targets, as text (terminal) or Markdown (docs). */
export function render(r: BenchReport, style: TableStyle): string {
  const table = renderTable(CASE_HEADERS, caseRows(r.servers, r.cases), style);
  const list = (targets: readonly TargetResult[]) =>
    style === 'markdown'
      ? renderTable(TARGET_HEADERS, targetRows(targets), 'markdown')
      : targets
          .map((t) => {
            const line = `T${t.id.padEnd(5)} ${t.verdict.padEnd(12)} ${t.goal.padEnd(11)} ${t.title}`;
            const detail = [t.value, t.note].filter(Boolean).join(' | ');
            return detail ? `${line}\n         ${detail}` : line;
          })
          .join('\n');
  const points = r.targets.filter((t) => t.id.startsWith('16.'));
  const targets = list(r.targets.filter((t) => !t.id.startsWith('16.')));
  const legend = r.servers.map((s) => `- ${s.id}: ${s.label}${s.note ? ` (${s.note})` : ''}`).join('\n');
  const notes = r.notes.map((n) => `- ${n}`).join('\n');
  return [
    table,
    '',
    'Targets (a verdict in parentheses in the table is a staticKeys analogue, not the target itself):',
    targets,
    ...(points.length
      ? [
          '',
          "Issue 16's performance points (serve; the library against the same run's references):",
          list(points),
        ]
      : []),
    '',
    'Servers:',
    legend,
    ...(notes ? ['', 'Notes:', notes] : []),
  ].join('\n');
}

const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

/**
 * Writes `<timestamp>.json`, `latest.json` and `latest.md` (the Markdown table for the
 * docs); a quick run writes `<timestamp>-quick.json`, `latest-quick.json` and
 * `latest-quick.md` instead (git-ignored), so `latest.json` is always a full run.
 */
export function write(r: BenchReport): string {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, '-');
  const suffix = r.mode === 'quick' ? '-quick' : '';
  const file = `${resultsDir}${stamp}${suffix}.json`;
  const json = `${JSON.stringify(r, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(`${resultsDir}latest${suffix}.json`, json);
  writeFileSync(`${resultsDir}latest${suffix}.md`, `${header(r)}\n\n${render(r, 'markdown')}\n`);
  return file;
}
