import type { Express, Router } from 'express';
import {
  applySecurity,
  buildOpenApiDocument,
  type OpenApiDocument,
  type OpenApiInfo,
} from '../openapi/document.js';
import { describeRoutes } from './describe.js';

export { describeRoutes };

/** keyward's own OpenAPI 3.1 document for an Express app. Throws on a scheme-name clash. */
export function openApiDocument(app: Express | Router, info: OpenApiInfo): OpenApiDocument {
  return buildOpenApiDocument(info, describeRoutes(app));
}

/**
 * Adds `security` and `securitySchemes` to a document made elsewhere (swagger-jsdoc, tsoa,
 * by hand), in place; typed as you passed it.
 */
export function withSecurity<D extends object = OpenApiDocument>(app: Express | Router, document: D): D {
  return applySecurity(document as unknown as OpenApiDocument, describeRoutes(app)) as unknown as D;
}
