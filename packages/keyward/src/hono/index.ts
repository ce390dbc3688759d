/**
 * keyward for Hono: `apiKeyAuth` middleware, explicit public routes, and OpenAPI/docs
 * generated from the same declarations.
 * @module
 */
export {
  apiKeyAuth,
  authSchemeOf,
  failureResponse,
  type KeywardEnv,
  principalOf,
  protect,
  publicRoute,
} from './middleware.js';
export { describeRoutes, openApiDocument, withSecurity } from './routes.js';
