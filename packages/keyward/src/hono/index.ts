/**
 * keyward for Hono: `apiKeyAuth` middleware, `protect` for one route, explicit public routes,
 * and the OpenAPI document generated from the same declarations.
 * @module
 */
export {
  apiKeyAuth,
  authResultOf,
  authSchemeOf,
  type KeywardEnv,
  principalOf,
  protect,
  publicRoute,
} from './middleware.js';
export { describeRoutes, openApiDocument, withSecurity } from './routes.js';
