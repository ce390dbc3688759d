/**
 * keyward for plain node:http (and connect-style stacks): a `(req, res, next)` middleware,
 * a function that authenticates an `IncomingMessage`, a writer for failures, WebSocket
 * upgrade guarding, and the OpenAPI parts to merge into your document.
 * @module
 */

export { type NodeRequestLike, nodeKeySource, setAuthHeaders, writeFailure } from '../internal/http/node.js';
export { type OpenApiSecurity, openApiSecurity } from '../openapi/security-parts.js';
export { apiKeyAuth, authenticateRequest, type NodeMiddleware, principalOf } from './middleware.js';
export { keywardUpgrades } from './node-ws.js';
export { guardUpgrade, refuseUpgrade, type UpgradeHandler } from './upgrade.js';
