import type { OpenApiDocument, OpenApiInfo } from 'keyward';
import { docsDefaults } from './defaults.js';
import { docsPage, redocPage, type StaticAsset } from './page.js';

/** Options of every adapter's `mountDocs`. */
export interface MountDocsOptions {
  info: OpenApiInfo;
  /** Default `/openapi.json`. */
  openapiPath?: string;
  /** Default `/docs`. */
  docsPath?: string;
  /**
   * The ReDoc page beside Swagger UI, default `/redoc`; `false` for none. Served when the
   * `redoc` package is installed (its standalone bundle, from the app itself: offline).
   */
  redocPath?: string | false;
  /** Post-process the generated document (add schemas, servers, ...). */
  transform?: (document: OpenApiDocument) => OpenApiDocument;
}

/** What an adapter serves for `mountDocs`; it only wires these into its router. */
export interface DocsSite {
  readonly openapiPath: string;
  readonly docsPath: string;
  /** Where the ReDoc page is, or `undefined` when there is none (off, or `redoc` not installed). */
  readonly redocPath: string | undefined;
  /** The serialized document, built on first use (routes declared later are included) and kept. */
  document(): string;
  /** The docs page or one of its assets, by request path; `undefined` when not its own. */
  asset(path: string): StaticAsset | undefined;
}

export function docsSite(options: MountDocsOptions, build: (info: OpenApiInfo) => OpenApiDocument): DocsSite {
  const openapiPath = options.openapiPath ?? '/openapi.json';
  const docsPath = options.docsPath ?? '/docs';
  const transform = options.transform ?? ((d: OpenApiDocument) => d);
  let body: string | undefined;
  const swagger = docsPage({ docsPath, openapiPath, title: options.info.title });
  const redoc =
    options.redocPath === false
      ? undefined
      : redocPage({ docsPath: options.redocPath ?? '/redoc', openapiPath, title: options.info.title });
  return {
    openapiPath,
    docsPath,
    redocPath: redoc ? ((options.redocPath || '/redoc') as string) : undefined,
    document: () => {
      body ??= JSON.stringify(transform(docsDefaults(build(options.info))));
      return body;
    },
    asset: (path) => swagger(path) ?? redoc?.(path),
  };
}

// keyward's marker for handlers left out of the OpenAPI document (a registry symbol, so
// the adapters' route readers see it whichever copy of keyward defined it).
const HIDDEN = Symbol.for('keyward.hidden');

/** Marks a handler as not documented: the docs routes do not describe themselves. */
export function undocumented<T extends object>(handler: T): T {
  return Object.assign(handler, { [HIDDEN]: true as const });
}
