/**
 * @keyward/server: the `keyward` command (keys, audit, serve) and the pieces it is made
 * of, for embedding: open a key manager from a database URL, the demo app, the CLI.
 * Request logging lives at `@keyward/server/log`.
 * @module
 */

export { type AdminAppOptions, adminNodeRoute, createAdminApp } from './admin/app.js';
export { ROOT_SCOPES, type RootScope } from './admin/scopes.js';
export type { NodeRoute } from './admin/verify.js';
export { runCli } from './cli/program.js';
export {
  type DatabaseTarget,
  DEFAULT_DATABASE,
  type OpenKeyManagerOptions,
  openKeyManager,
  openKeyStore,
  resolveDatabase,
} from './open.js';
export { createDemoApp, type DemoAppOptions, demoSchemes } from './serve/app.js';
export {
  createServeMetrics,
  type DependencyStates,
  type ServeMetrics,
  type ServeMetricsOptions,
} from './serve/metrics.js';
export {
  createReadiness,
  type Readiness,
  type ReadinessOptions,
  type ReadinessProbe,
  readinessBody,
} from './serve/ready.js';
export { listen, type RunningServer } from './serve/serve.js';
