import type { CaseName, CaseResult, ServerResult, TargetResult } from './model.js';
import { POINTS } from './points.js';

export type TableStyle = 'text' | 'markdown';

/** Renders rows as an aligned text table or a Markdown table. Numbers are right-aligned. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  style: TableStyle,
): string {
  // Right-aligned: columns of numbers, percentages and ratios (`0.93 x public`).
  const number = /^[-+]?[\d.,]+(%| x \w+)?$/;
  const numeric = headers.map((_, i) => rows.every((r) => r[i] === '' || number.test(r[i] ?? '')));
  if (style === 'markdown') {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    const line = (cells: readonly string[]) => `| ${cells.map(esc).join(' | ')} |`;
    const rule = `|${headers.map((_, i) => (numeric[i] ? '---:' : '---')).join('|')}|`;
    return [line(headers), rule, ...rows.map(line)].join('\n');
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (s: string, i: number) => (numeric[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => pad(c, i))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Which target a case row feeds, and its goal. */
function rowGoal(server: ServerResult, name: CaseName): { id: string; min: number } | undefined {
  // Issue 16's point 2 on serve as a user runs it (default request log).
  if (server.group === 'service' && server.requestLog?.level !== 'silent') {
    if (name === 'valid') return { id: '16.2b', min: POINTS.validOverPublic };
    if (name === 'missing' || name === 'malformed' || name === 'unknown')
      return { id: '16.2c', min: POINTS.refusalOverValid };
    if (name === 'flood') return { id: '16.2d', min: POINTS.floodOverCycle };
    return undefined;
  }
  if (server.group !== 'keyward') return undefined;
  if (name === 'valid' && (server.framework === 'hono' || server.framework === 'node'))
    return { id: '1', min: 0.95 };
  if (name === 'missing' || name === 'malformed' || name === 'unknown') return { id: '2', min: 1 };
  if (name === 'flood') return { id: '3', min: 0.95 };
  return undefined;
}

/** Formats requests per second with thousands separators. */
export function formatRps(rps: number): string {
  return Number.isFinite(rps) ? Math.round(rps).toLocaleString('en-US') : '-';
}

/**
 * The one table the harness prints: every case with its median rate, its ratio to the
 * baseline measured on the same server in the same run, and the target it feeds.
 * A verdict in parentheses comes from a staticKeys server, an analogue of a target
 * that is defined on the SQLite store.
 */
export function caseRows(servers: readonly ServerResult[], cases: readonly CaseResult[]): string[][] {
  const rows: string[][] = [];
  for (const server of servers) {
    for (const c of cases.filter((x) => x.server === server.id)) {
      const goal = rowGoal(server, c.case);
      let target = '';
      if (goal && c.ratio !== undefined && !c.problem) {
        const verdict = c.ratio >= goal.min ? 'PASS' : 'MISS';
        // Targets 1 and 3 are defined on the store; Target 2 holds for any keyward server.
        const analogue = server.keys === 'static' && goal.id !== '2' && !goal.id.startsWith('16.');
        target = `T${goal.id} >=${goal.min.toFixed(2)} ${analogue ? `(${verdict})` : verdict}`;
      }
      rows.push([
        server.id,
        c.case,
        c.problem ? 'broken' : formatRps(c.rps),
        c.serverCpu === undefined ? '' : `${Math.round(c.serverCpu)}%`,
        c.perCore === undefined || c.problem ? '' : formatRps(c.perCore),
        Number.isFinite(c.spread) ? `${Math.round(c.spread * 100)}%` : '',
        Number.isFinite(c.p99Us) ? (c.p99Us / 1000).toFixed(2) : '',
        c.ratio !== undefined && Number.isFinite(c.ratio) ? `${c.ratio.toFixed(2)} x ${c.baseline}` : '',
        c.problem ? c.problem : target,
      ]);
    }
  }
  return rows;
}

export const CASE_HEADERS = [
  'server',
  'case',
  'rps',
  'srv cpu',
  'rps/core',
  'spread',
  'p99 ms',
  'ratio',
  'target',
] as const;
export const TARGET_HEADERS = ['target', 'goal', 'verdict', 'measured', 'note'] as const;

export function targetRows(targets: readonly TargetResult[]): string[][] {
  return targets.map((t) => [`${t.id}. ${t.title}`, t.goal, t.verdict, t.value ?? '', t.note ?? '']);
}
