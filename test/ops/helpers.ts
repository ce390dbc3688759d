// Shared by the operations tests: `keyward serve` with its metrics listener, keys of every
// kind made directly in the store, requests that end in each outcome, and a scrape parser.
import type { KeyManager } from '@keyward/keys';
import { type CliProcess, runCli } from '../helpers/spawn.js';
import { httpRequest, rawRequest } from '../hostile/raw.js';

export const PEPPER = 'ops-pepper-0123456789abcdefghijklmnopqrstuvwxyz';

export interface Serving {
  cli: CliProcess;
  /** The public API. */
  url: string;
  /** The metrics listener. */
  metricsUrl: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `keyward serve --port 0 --metrics-port 0` and its two addresses. */
export async function serveWithMetrics(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<Serving> {
  const cli = runCli(['serve', '--port', '0', '--metrics-port', '0', ...args], env, cwd);
  const [, url] = await cli.waitFor(/listening on (http:\/\/\S+)/);
  const [, metricsUrl] = await cli.waitFor(/Metrics on (http:\/\/\S+)\/metrics/);
  return {
    cli,
    url: url!,
    metricsUrl: metricsUrl!,
    async stop(signal = 'SIGTERM') {
      if (cli.child.exitCode !== null) return cli.child.exitCode;
      cli.child.kill(signal);
      return cli.exited();
    },
  };
}

/** Metric samples by their full name with labels, e.g. `keyward_verifications_total{outcome="valid"}`. */
export async function scrape(metricsUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${metricsUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

export const outcome = (samples: Map<string, number>, name: string) =>
  samples.get(`keyward_verifications_total{outcome="${name}"}`);

/** One key of each kind a request can be refused for, made in the store before `serve` starts. */
export interface KeyKinds {
  reader: string;
  expired: string;
  revoked: string;
  disabled: string;
  /** 1 request per hour: the first passes, the rest get 429 rate_limited. */
  limited: string;
  /** One use: the first passes, the rest get 429 usage_exceeded. */
  oneUse: string;
}

export async function makeKeys(manager: KeyManager): Promise<KeyKinds> {
  const make = async (name: string, more: object = {}) =>
    (await manager.create({ name, scopes: ['read'], ...more })).key;
  const revoked = await manager.create({ name: 'revoked' });
  await manager.revoke(revoked.record.id);
  const disabled = await manager.create({ name: 'disabled', enabled: false });
  return {
    reader: await make('reader'),
    expired: await make('expired', { expiresIn: 200 }),
    revoked: revoked.key,
    disabled: disabled.key,
    limited: await make('limited', { rateLimit: '1/1h' }),
    oneUse: await make('one-use', { uses: 1 }),
  };
}

const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res.status;
};

/** The outcomes a request of each kind ends in, and the status it gets. */
export function requestsOf(url: string, keys: KeyKinds) {
  const data = `${url}/secure-data`;
  const key = (k: string) => ({ 'X-API-Key': k });
  return {
    valid: { status: 200, send: () => get(data, key(keys.reader)) },
    missing: { status: 401, send: () => get(data) },
    duplicate: {
      status: 400,
      send: async () =>
        (
          await rawRequest(
            url,
            httpRequest('GET', '/secure-data', [`X-API-Key: ${keys.reader}`, `X-API-Key: ${keys.reader}`]),
          )
        ).status,
    },
    invalid: { status: 401, send: () => get(data, key('kw_madeUpKeyThatIsNotStoredAnywhere0123')) },
    expired: { status: 401, send: () => get(data, key(keys.expired)) },
    revoked: { status: 401, send: () => get(data, key(keys.revoked)) },
    disabled: { status: 401, send: () => get(data, key(keys.disabled)) },
    insufficient_scope: { status: 403, send: () => get(`${url}/admin-data`, key(keys.reader)) },
    rate_limited: { status: 429, send: () => get(data, key(keys.limited)) },
    usage_exceeded: { status: 429, send: () => get(data, key(keys.oneUse)) },
  } as const;
}
