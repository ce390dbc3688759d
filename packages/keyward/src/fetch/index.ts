/**
 * keyward for Web-standard `Request`/`Response` handlers (Bun, Deno, workers, Node 20+).
 * Nothing on this path imports a `node:` module or uses `Buffer`, and the portable core
 * (guards, schemes, failures) is re-exported here so a worker never loads the root
 * `keyward` entry (whose `staticKeys` and docs page use node:crypto and node:fs).
 * @module
 */

export {
  AuthFailure,
  deny,
  type FailureCode,
  type FailureResponder,
  type FailureResponse,
  jsonFailure,
  KeywardConfigError,
  problemJsonFailure,
} from '../core/failures.js';
export {
  type AuthResult,
  createGuard,
  type Guard,
  type GuardOptions,
  type Verifier,
  type VerifyContext,
} from '../core/guard.js';
export type { KeySource } from '../core/request.js';
export {
  type ApiKeyScheme,
  type ApiKeySchemeOptions,
  apiKeyCookie,
  apiKeyHeader,
  apiKeyQuery,
} from '../core/schemes.js';
export {
  type AuthenticatedHandler,
  authenticateRequest,
  failureResponse,
  fetchKeySource,
  withApiKey,
} from './fetch.js';
