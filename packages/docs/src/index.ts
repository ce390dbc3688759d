/**
 * @keyward/docs: FastAPI's `/docs` for keyward apps, served offline (Swagger UI from the
 * installed `swagger-ui-dist`, no CDN), with a working Authorize button. Node only; the
 * adapters themselves stay runtime-neutral. Per framework: `@keyward/docs/hono`,
 * `@keyward/docs/express`, `@keyward/docs/node`.
 * @module
 */
export { defaultSchemeDescription, docsDefaults } from './defaults.js';
export { type DocsPageOptions, docsPage, redocPage, type StaticAsset } from './page.js';
export { type DocsSite, docsSite, type MountDocsOptions } from './site.js';
