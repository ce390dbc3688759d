// Shared by the scale and fault tests: keyward processes on a shared PostgreSQL and Redis.
import { randomBytes } from 'node:crypto';
import { runCli, type startServe } from '../helpers/spawn.js';

export const PEPPER = 'scale-pepper-0123456789abcdefghijklmnopqrstuvwxyz';

/** A PostgreSQL URL naming a schema of its own (created by keyward on first use). */
export function isolatedDatabase(baseUrl: string, label: string): { url: string; schema: string } {
  const schema = `keyward_${label}_${randomBytes(4).toString('hex')}`;
  const url = new URL(baseUrl);
  url.searchParams.set('schema', schema);
  return { url: url.toString(), schema };
}

/** Runs the CLI to its end. */
export async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const p = runCli(args, env);
  const code = await p.exited();
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** `keys create ... --json`: the key and its id. */
export async function createKey(env: NodeJS.ProcessEnv, ...flags: string[]) {
  const r = await cli(['keys', 'create', '--name', 'scale', '--json', ...flags], env);
  if (r.code !== 0) throw new Error(`keys create failed (${r.code}): ${r.stderr}`);
  const { key, id } = JSON.parse(r.stdout) as { key: string; id: string };
  return { key, id };
}

export type Instance = Awaited<ReturnType<typeof startServe>>;

export async function get(base: string, key: string, path = '/secure-data') {
  const res = await fetch(base + path, { headers: { 'X-API-Key': key } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
