/**
 * Every server the harness knows: the peers, keyward on Hono and node:http with static
 * keys and with the 1M-key SQLite store, and keyward's other adapters (static keys).
 */
import type { CaseName, ServerSpec } from './model.js';

const PEER_CASES: readonly CaseName[] = ['public', 'valid', 'missing'];
const KEYWARD_CASES: readonly CaseName[] = [
  'public',
  'valid',
  'missing',
  'malformed',
  'unknown',
  'cycle',
  'flood',
];

export interface RegisteredServer extends ServerSpec {
  /** File under bench/servers (for `keyward serve`: the command, for the record). */
  readonly entry: string;
  /**
   * Set for `keyward serve`: run the installed command (packages/server/bin/keyward.js,
   * which loads the built dist/) on the 1M-key store, at this request-log level.
   */
  readonly serve?: { readonly logLevel: 'info' | 'silent'; readonly bin?: string };
  /** keyward-hono.ts: guard with `apiKeyAuth` middleware (default) or `protect(guard, handler)`. */
  readonly form?: 'middleware' | 'protect';
}

const peers: RegisteredServer[] = [
  {
    id: 'node-floor',
    floor: true,
    label: 'node:http, SHA-256 + timingSafeEqual on one static key',
    group: 'peer',
    framework: 'node',
    keys: 'static',
    header: 'x-api-key',
    prefix: '',
    cases: PEER_CASES,
    quick: true,
    entry: 'node-floor.ts',
  },
  {
    id: 'hono-bearer',
    label: 'Hono 4 + built-in hono/bearer-auth (token option)',
    group: 'peer',
    framework: 'hono',
    keys: 'static',
    header: 'authorization',
    prefix: 'Bearer ',
    cases: PEER_CASES,
    quick: true,
    entry: 'hono-bearer.ts',
  },
  {
    id: 'fastify-bearer',
    label: 'Fastify 5 + @fastify/bearer-auth (encapsulated)',
    group: 'peer',
    framework: 'fastify',
    keys: 'static',
    header: 'authorization',
    prefix: 'Bearer ',
    cases: PEER_CASES,
    quick: true,
    entry: 'fastify-bearer.ts',
  },
  {
    id: 'express-passport',
    label: 'Express 5 + passport + passport-headerapikey',
    group: 'peer',
    framework: 'express',
    keys: 'static',
    header: 'x-api-key',
    prefix: '',
    cases: PEER_CASES,
    quick: true,
    entry: 'express-passport.ts',
  },
];

const REFERENCE_CASES: readonly CaseName[] = ['public', 'valid', 'missing', 'unknown'];

/**
 * Target 1's floors: header, keyed SHA-256 and a Map of 10,000 digests, hand-written
 * (bench/servers/keyed-check.ts), on node:http and on Hono; and a Hono middleware that
 * checks nothing.
 */
const references: RegisteredServer[] = [
  {
    id: 'node-keyed-floor',
    label: 'node:http, hand-written keyed SHA-256 digest + Map of 10,000 (reference for target 1)',
    group: 'reference',
    framework: 'node',
    keys: 'static',
    header: 'x-api-key',
    prefix: '',
    cases: REFERENCE_CASES,
    quick: true,
    entry: 'node-keyed-floor.ts',
  },
  {
    id: 'hono-keyed-floor',
    label: 'Hono 4, hand-written middleware, the same keyed check (reference for target 1)',
    group: 'reference',
    framework: 'hono',
    keys: 'static',
    header: 'x-api-key',
    prefix: '',
    cases: REFERENCE_CASES,
    quick: true,
    entry: 'hono-keyed-floor.ts',
  },
  {
    id: 'hono-noop-middleware',
    label: 'Hono 4, a middleware that checks nothing (sets a variable, calls next; reference for target 1)',
    group: 'reference',
    framework: 'hono',
    keys: 'static',
    header: 'x-api-key',
    prefix: '',
    // It lets every request through: there is nothing to refuse.
    cases: ['public', 'valid'],
    quick: true,
    entry: 'hono-noop-middleware.ts',
  },
];

/**
 * Issue 16: `keyward serve` as a user runs it (its default request log, and silent), and
 * the bare Hono app its public route is judged against.
 */
const service: RegisteredServer[] = [
  {
    id: 'hono-bare',
    label: "Hono 4 on @hono/node-server, one route answering serve's public JSON (reference for point 2)",
    group: 'reference',
    framework: 'hono',
    keys: 'static',
    header: 'x-api-key',
    prefix: '',
    cases: ['public'],
    quick: true,
    entry: 'hono-bare.ts',
  },
];

function serveSpecs(): RegisteredServer[] {
  const common = {
    group: 'service',
    framework: 'hono',
    keys: 'store',
    header: 'x-api-key',
    prefix: '',
    quick: true,
    entry: 'keyward serve',
  } as const;
  return [
    {
      ...common,
      id: 'serve',
      label: 'keyward serve (built CLI), default options: request log at info on stdout, SQLite store',
      cases: KEYWARD_CASES,
      serve: { logLevel: 'info' },
    },
    {
      ...common,
      id: 'serve-silent',
      label: 'keyward serve --log-level silent, SQLite store',
      cases: ['public', 'valid'],
      serve: { logLevel: 'silent' },
    },
  ];
}

function keywardNode(): Omit<RegisteredServer, 'id' | 'keys' | 'quick'> {
  return {
    label: 'keyward/node apiKeyAuth on node:http',
    group: 'keyward',
    framework: 'node',
    header: 'x-api-key',
    prefix: '',
    cases: KEYWARD_CASES,
    entry: 'keyward-node.ts',
  };
}

function keywardHono(): Omit<RegisteredServer, 'id' | 'keys' | 'quick'> {
  return {
    label: 'keyward/hono apiKeyAuth on @hono/node-server',
    group: 'keyward',
    framework: 'hono',
    header: 'x-api-key',
    prefix: '',
    cases: KEYWARD_CASES,
    entry: 'keyward-hono.ts',
  };
}

/** keyward's other adapters, measured with static keys in full runs. */
const otherAdapters: { id: string; framework: RegisteredServer['framework']; label: string }[] = [
  { id: 'keyward-express', framework: 'express', label: 'keyward/express apiKeyAuth on Express 5' },
  { id: 'keyward-fastify', framework: 'fastify', label: 'keyward/fastify plugin on Fastify 5' },
  { id: 'keyward-fetch', framework: 'fetch', label: 'keyward/fetch withApiKey, served by @hono/node-server' },
];

/**
 * `keyward serve` from another build (`--serve-baseline path/to/bin/keyward.js`, e.g. the
 * server package built at the previous commit), measured beside this tree's in every
 * round: a before/after of a change to serve in one run, which a shared machine's drift
 * hits on both sides. Judged by nothing.
 */
export function serveBaseline(bin: string): RegisteredServer {
  return {
    id: 'serve-baseline',
    label: `keyward serve from ${bin}, default options (before/after reference, judged by nothing)`,
    group: 'reference',
    framework: 'hono',
    keys: 'store',
    header: 'x-api-key',
    prefix: '',
    cases: KEYWARD_CASES,
    quick: true,
    entry: 'keyward serve',
    serve: { logLevel: 'info', bin },
  };
}

/** The servers to measure in this tree; `store` says whether the key store can be used. */
export function registry(store: boolean): RegisteredServer[] {
  const list: RegisteredServer[] = [...peers, ...references, ...service];
  // With the store present, quick mode measures the store servers (the targets' setup).
  list.push({ id: 'keyward-hono', keys: 'static', quick: !store, ...keywardHono() });
  list.push({ id: 'keyward-node', keys: 'static', quick: !store, ...keywardNode() });
  if (store) {
    const hono = keywardHono();
    const node = keywardNode();
    list.push({
      id: 'keyward-hono-store',
      keys: 'store',
      quick: true,
      ...hono,
      label: `${hono.label}, SQLite store`,
    });
    list.push({
      id: 'keyward-hono-protect-store',
      keys: 'store',
      quick: true,
      ...hono,
      label: 'keyward/hono protect(guard, handler) on @hono/node-server, SQLite store',
      form: 'protect',
    });
    list.push({
      id: 'keyward-node-store',
      keys: 'store',
      quick: true,
      ...node,
      label: `${node.label}, SQLite store`,
    });
  }
  // serve opens the same 1M-key SQLite file, as `keyward serve --db` does.
  if (store) list.push(...serveSpecs());
  for (const a of otherAdapters) {
    list.push({
      id: a.id,
      label: a.label,
      group: 'keyward',
      framework: a.framework,
      keys: 'static',
      header: 'x-api-key',
      prefix: '',
      cases: ['public', 'valid', 'missing', 'unknown'],
      quick: false,
      entry: `${a.id}.ts`,
    });
  }
  return list;
}
