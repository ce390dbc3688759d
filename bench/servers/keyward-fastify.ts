/** keyward on Fastify 5: the keyward/fastify plugin guarding every route but the public one. */

import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { apiKeyHeader, createGuard } from 'keyward';
import { keyward } from 'keyward/fastify';
import { announce, config, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';
import { benchVerifier } from './verifier.js';

const verifier = await benchVerifier(config());
const guard = createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: verifier.verify });

const app = Fastify({ logger: false });
await app.register(keyward, { guard });
app.get(PUBLIC_PATH, { config: { keyward: false } }, async () => PUBLIC_BODY);
app.get(SECURE_PATH, async () => SECURE_BODY);
await app.listen({ host: '127.0.0.1', port: 0 });
announce((app.server.address() as AddressInfo).port);
