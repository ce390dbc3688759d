/**
 * keyward for Express 5: `apiKeyAuth` middleware (principal on `req.principal`), and the
 * OpenAPI document or its security parts read from the app's router stack.
 * @module
 */
export { apiKeyAuth, type ExpressPrincipal, principalOf, type Register } from './middleware.js';
export { describeRoutes, openApiDocument, withSecurity } from './routes.js';
