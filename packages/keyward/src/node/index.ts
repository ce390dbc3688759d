/**
 * keyward for plain node:http (and connect-style stacks): a `(req, res, next)` middleware,
 * a function that authenticates an `IncomingMessage`, a writer for failures, WebSocket
 * upgrade guarding, and the OpenAPI parts to merge into your document.
 * @module
 */
export { buildOpenApiDocument, type OpenApiDocument, type RouteDescription } from '../openapi/document.js';
export { apiKeyAuth, authenticateRequest, type NodeMiddleware, principalOf } from './auth.js';
export { keywardUpgrades } from './node-ws.js';
export { type OpenApiSecurity, openApiSecurity } from './openapi.js';
export { setAuthHeaders, writeFailure } from './respond.js';
export { type NodeRequestLike, nodeKeySource } from './source.js';
export { guardUpgrade, refuseUpgrade, type UpgradeHandler } from './upgrade.js';
