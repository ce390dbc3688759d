import type { OpenApiDocument, OpenApiInfo } from 'keyward';
import { docsPage, type StaticAsset } from './page.js';

/** Options of every adapter's `mountDocs`. */
export interface MountDocsOptions {
  info: OpenApiInfo;
  /** Default `/openapi.json`. */
  openapiPath?: string;
  /** Default `/docs`. */
  docsPath?: string;
  /** Post-process the generated document (add schemas, servers, ...). */
  transform?: (document: OpenApiDocument) => OpenApiDocument;
}

/** What an adapter serves for `mountDocs`; it only wires these into its router. */
export interface DocsSite {
  readonly openapiPath: string;
  readonly docsPath: string;
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
  return {
    openapiPath,
    docsPath,
    document: () => {
      body ??= JSON.stringify(transform(build(options.info)));
      return body;
    },
    asset: docsPage({ docsPath, openapiPath, title: options.info.title }),
  };
}

// keyward's marker for handlers left out of the OpenAPI document (a registry symbol, so
// the adapters' route readers see it whichever copy of keyward defined it).
const HIDDEN = Symbol.for('keyward.hidden');

/** Marks a handler as not documented: the docs routes do not describe themselves. */
export function undocumented<T extends object>(handler: T): T {
  return Object.assign(handler, { [HIDDEN]: true as const });
}
