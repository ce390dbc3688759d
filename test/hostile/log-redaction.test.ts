import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { keyFormat } from '@keyward/keys';
import { demoSchemes } from '@keyward/server';
import { createLogger } from '@keyward/server/log';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest, rawRequest } from './raw.js';

// A careless app logs whatever its framework hands it: the request, the response, their
// headers, the context. With a key in every place a request can carry one, keyward's
// logger must write none of it, in any encoding, and must never throw (a throw in a
// handler is a 500).

const KEY = keyFormat('kw').generate();
const pctAll = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('');

/** Every form the key could be written in, plus every 12-character window (partial leaks). */
function forms(key: string): string[] {
  const out = new Set([key, encodeURIComponent(key), pctAll(key), pctAll(key).toLowerCase()]);
  for (let i = 0; i + 12 <= key.length; i++) out.add(key.slice(i, i + 12));
  return [...out];
}

/** Request targets with the key in the path, the query, a `;` parameter and behind an encoded `?`. */
const TARGETS = [
  `/echo/${KEY}?x-api-key=${KEY}&x-api-kye=${KEY}&${KEY}`,
  `/echo;x-api-key=${KEY}?page=1`,
  `/echo%3Fx-api-key=${KEY}`,
  `/echo?x-api-key=${pctAll(KEY)}`,
  `/${KEY}`,
];
/** The key header in each letter case a client might send, one per request. */
const HEADER_NAMES = ['X-Api-Key', 'X-API-KEY', 'x-api-key'];

function headerLines(i: number): string[] {
  return [
    `${HEADER_NAMES[i % HEADER_NAMES.length]}: ${KEY}`,
    `Cookie: theme=dark; X-API-KEY=${KEY}`,
    `Referer: https://app.example/page?x-api-key=${KEY}#${KEY}`,
    `Authorization: Bearer ${KEY}`,
    `X-Original-URL: /secure-data?x-api-kye=${KEY}`,
    'Accept: application/json',
  ];
}

const lines: string[] = [];
const logger = createLogger({ schemes: [...demoSchemes], destination: { write: (l) => void lines.push(l) } });

/** Logs each value every way an app might: as a field, as the merge object, nested, interpolated, bound, on an error. */
function logEverything(shapes: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(shapes)) {
    logger.info({ [name]: value }, name);
    if (typeof value === 'object' && value !== null) logger.info(value, `${name} merged`);
    logger.info({ ctx: { req: { raw: { [name]: value } } } }, `${name} nested`);
    logger.info(`${name} %o %j`, value as object, value as object);
    logger.child({ [name]: value }).warn(`${name} bound`);
    logger.error(Object.assign(new Error(`${name} failed`), { [name]: value }));
    logger.error({ err: { config: { [name]: value } } }, `${name} as an axios error would`);
  }
}

function listening(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

const servers: { name: string; url: string; close: () => Promise<void> }[] = [];

beforeAll(async () => {
  const node = createServer((req, res) => {
    logEverything({ req, res, headers: req.headers, rawHeaders: req.rawHeaders, url: req.url });
    res.setHeader('set-cookie', `X-API-KEY=${KEY}`);
    res.end('{}');
  });
  servers.push({ name: 'node:http', url: await listening(node), close: () => closeServer(node) });

  const app = express();
  app.use((req, res) => {
    logEverything({ req, res, headers: req.headers, query: req.query, originalUrl: req.originalUrl });
    res.json({});
  });
  const expressServer = createServer(app);
  servers.push({
    name: 'Express',
    url: await listening(expressServer),
    close: () => closeServer(expressServer),
  });

  const fastify = Fastify();
  fastify.all('/*', async (request, reply) => {
    logEverything({
      request,
      req: request,
      raw: request.raw,
      reply,
      headers: request.headers,
      query: request.query,
    });
    return {};
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const fastifyPort = (fastify.server.address() as AddressInfo).port;
  servers.push({ name: 'Fastify', url: `http://127.0.0.1:${fastifyPort}`, close: () => fastify.close() });

  const hono = new Hono<{ Bindings: { incoming: unknown; outgoing: unknown } }>();
  hono.all('*', (c) => {
    logEverything({
      c,
      req: c.req,
      raw: c.req.raw,
      env: c.env,
      incoming: c.env.incoming,
      headers: c.req.header(),
    });
    return c.json({});
  });
  const honoServer = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
  });
  servers.push({
    name: 'Hono',
    url: `http://127.0.0.1:${(honoServer.address() as AddressInfo).port}`,
    close: () => closeServer(honoServer),
  });
});

function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    server.close(() => done());
    server.closeAllConnections();
  });
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

function expectNoKey(output: string): void {
  expect(output.length).toBeGreaterThan(0);
  for (const form of forms(KEY)) {
    const at = output.indexOf(form);
    expect(at, `found ${form} in …${output.slice(Math.max(0, at - 300), at + 80)}`).toBe(-1);
  }
}

describe('keyward/log with a key in every place a request can carry one', () => {
  it('writes no key from the request objects of node:http, Express, Fastify and Hono, and never throws', async () => {
    for (const server of servers) {
      lines.length = 0;
      for (const [i, target] of TARGETS.entries()) {
        const res = await rawRequest(server.url, httpRequest('GET', target, headerLines(i)));
        expect(res.status, `${server.name} ${target}`).not.toBe(500);
      }
      const output = lines.join('');
      expectNoKey(output);
      // Still a useful log: the request line and harmless headers are there.
      expect(output, server.name).toContain('"method":"GET"');
      expect(output, server.name).toContain('application/json');
      expect(output, server.name).toContain('/echo');
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    }
  });

  it('writes no key from a fetch Request or Response, and never throws', () => {
    lines.length = 0;
    for (const [i, target] of TARGETS.entries()) {
      const headers = new Headers();
      for (const line of headerLines(i)) {
        const colon = line.indexOf(':');
        headers.append(line.slice(0, colon), line.slice(colon + 2));
      }
      const request = new Request(`http://127.0.0.1${target}`, { headers });
      const response = new Response('{}', {
        headers: { 'set-cookie': `X-API-KEY=${KEY}`, location: `/next?x-api-key=${KEY}` },
      });
      expect(() =>
        logEverything({ request, response, headers: request.headers, url: new URL(request.url) }),
      ).not.toThrow();
    }
    expectNoKey(lines.join(''));
    expect(lines.join('')).toContain('"method":"GET"');
  });

  it('writes no key from objects built by hand, at any depth and in any letter case', () => {
    lines.length = 0;
    const headers = {
      'X-Api-Key': KEY,
      'X-API-KEY': KEY,
      Cookie: `X-API-KEY=${KEY}`,
      Referer: `https://app.example/?x-api-key=${KEY}`,
      Authorization: `Bearer ${KEY}`,
      accept: 'application/json',
    };
    logEverything({
      headers,
      rawHeaders: Object.entries(headers).flat(),
      pairs: Object.entries(headers),
      err: { config: { url: `https://api.example/v1?x-api-key=${KEY}`, headers } },
      href: `https://api.example/v1/${KEY}`,
      path: `/secure-data;x-api-key=${KEY}`,
      uri: `/secure-data%3Fx-api-key=${KEY}`,
      urls: [`/a?x-api-key=${KEY}`, `/b/${KEY}`],
      target: `/secure-data?x-api-kye=${KEY}`,
      a: { b: { c: { d: { 'X-API-KEY': KEY } } } },
      ctx: { req: { raw: { headers } } },
      map: new Map([['x-api-key', KEY]]),
      note: `client sent x-api-key=${KEY} and Authorization: Bearer ${KEY}`,
    });
    logger.error(new Error(`GET /secure-data?x-api-key=${KEY} failed`, { cause: new Error(`for ${KEY}`) }));
    logger.info(`key %s in a message`, KEY);
    const output = lines.join('');
    expectNoKey(output);
    expect(output).toContain('application/json');
    expect(output).toContain('[REDACTED]');
  });

  it('logs objects whose getters throw or that refer to themselves, without throwing', () => {
    lines.length = 0;
    const hostile: Record<string, unknown> = {
      get boom() {
        throw new TypeError('getter');
      },
      key: KEY,
    };
    hostile.self = hostile;
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys');
        },
      },
    );
    expect(() => logger.info({ hostile, proxy, big: 10n })).not.toThrow();
    const line = JSON.parse(lines[0]!);
    expect(line.hostile).toMatchObject({ boom: '[Unreadable]', self: '[Circular]' });
    expect(line.big).toBe('10');
    expectNoKey(lines.join(''));
  });
});
