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
  /** File under bench/servers. */
  readonly entry: string;
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

/** The servers to measure in this tree; `store` says whether the key store can be used. */
export function registry(store: boolean): RegisteredServer[] {
  const list: RegisteredServer[] = [...peers, ...references];
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
