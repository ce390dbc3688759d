/**
 * keyward's log hygiene: a pino logger that redacts keys wherever they usually appear,
 * a URL redactor, and a Hono request logger that records key ids, never keys.
 * @module
 */
export { type PrincipalFields, type RequestLoggerOptions, requestLogger } from './hono.js';
export { createLogger, type KeywardLoggerOptions } from './logger.js';
export { headerRedactPaths, REDACTED, redactUrl } from './redact.js';
