/** Reading a process's CPU time and memory from /proc (Linux); `undefined` elsewhere. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let tick: number | undefined;

/** Clock ticks per second, the unit of /proc/<pid>/stat CPU times. */
function ticksPerSecond(): number {
  if (tick === undefined) {
    try {
      tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      tick = 100;
    }
  }
  return tick;
}

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Resident set size in MiB (VmRSS). */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** True when a command is on the PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** First line of a command's output, or `undefined` when it fails. */
export function commandLine(cmd: string, args: readonly string[]): string | undefined {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n')[0]?.trim();
  } catch (e) {
    // wrk prints its version and usage, then exits 1, when run without a URL.
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    return (stdout || stderr)?.split('\n')[0]?.trim() || undefined;
  }
}

let niceness = 0;

/**
 * Runs the benchmark's processes at this nice value (`--nice`, e.g. -10 as root), so
 * neighbours on a shared machine take less of the measured cores. 0 leaves them alone.
 */
export function setNiceness(value: number): void {
  niceness = value;
}

/** The argv that runs `command` pinned to `cpu` (when given) at the chosen niceness. */
export function launch(command: readonly string[], cpu: string | undefined): [string, string[]] {
  const pinned = cpu ? ['taskset', '-c', cpu, ...command] : [...command];
  const full = niceness !== 0 ? ['nice', '-n', String(niceness), ...pinned] : pinned;
  return [full[0]!, full.slice(1)];
}
