import type { ConformanceApp } from './fixture.js';
import { honoApp } from './hono-app.js';

/** Every adapter's conformance app. Each suite in test/conformance runs against all of them. */
export const conformanceApps: readonly ConformanceApp[] = [honoApp];
