/**
 * Peer: Fastify 5 with @fastify/bearer-auth on one static key. The plugin is registered
 * inside an encapsulated context (its documented way to protect only some routes), so
 * the public route runs without its hook.
 */

import type { AddressInfo } from 'node:net';
import bearerAuth from '@fastify/bearer-auth';
import Fastify from 'fastify';
import { announce, config, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';

const app = Fastify({ logger: false });
app.get(PUBLIC_PATH, async () => PUBLIC_BODY);
app.register(async (scope) => {
  await scope.register(bearerAuth, { keys: new Set([config().key]) });
  scope.get(SECURE_PATH, async () => SECURE_BODY);
});
await app.listen({ host: '127.0.0.1', port: 0 });
announce((app.server.address() as AddressInfo).port);
