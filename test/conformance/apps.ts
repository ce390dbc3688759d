import { expressApp } from './express-app.js';
import { fastifyApp } from './fastify-app.js';
import { fetchApp } from './fetch-app.js';
import type { ConformanceApp } from './fixture.js';
import { honoApp, honoProtectApp } from './hono-app.js';
import { nodeApp } from './node-app.js';

/** Every adapter's conformance app. Each suite in test/conformance runs against all of them. */
export const conformanceApps: readonly ConformanceApp[] = [
  honoApp,
  honoProtectApp,
  expressApp,
  fastifyApp,
  nodeApp,
  fetchApp,
];
