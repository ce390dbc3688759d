import type { OpenApiDocument } from 'keyward';

interface ApiKeySchemeObject {
  type?: unknown;
  name?: unknown;
  in?: unknown;
  description?: unknown;
}

/** What a docs page reader needs to know about each place a key can go. */
export function defaultSchemeDescription(scheme: { name: string; in: string }): string | undefined {
  const name = scheme.name;
  switch (scheme.in) {
    case 'header':
      return `Paste your API key here: it is sent in the \`${name}\` header. This is the recommended way to send a key.`;
    case 'query':
      return `Paste your API key here: it is sent in the URL as \`?${name}=...\`. URLs end up in logs and browser history: prefer the header.`;
    case 'cookie':
      return `Cannot be tried from this page: browsers forbid a script to set the \`Cookie\` header, so a key entered here is not sent. Use the header instead, or try the cookie with curl:\n\n\`curl --cookie '${name}=YOUR_KEY' https://this-server/path\``;
    default:
      return undefined;
  }
}

const ORDER: Record<string, number> = { header: 0, query: 1, cookie: 2 };

/**
 * The document as the docs pages show it: each apiKey scheme without a description gets
 * one (what to paste and where; the cookie scheme says it cannot be tried from the page
 * and gives the curl line), and the schemes are listed header first, so the Authorize
 * dialog opens on the recommended field. Descriptions you set are kept. The document
 * given is not changed. For other tools' docs pages too, e.g. `@fastify/swagger-ui`'s
 * `transformSpecification: (spec) => docsDefaults(spec)`.
 */
export function docsDefaults<D extends Pick<OpenApiDocument, 'components'>>(document: D): D {
  const schemes = document.components?.securitySchemes as Record<string, ApiKeySchemeObject> | undefined;
  if (!schemes) return document;
  const entries = Object.entries(schemes).map(([key, scheme], index) => {
    if (scheme?.type !== 'apiKey' || typeof scheme.name !== 'string' || typeof scheme.in !== 'string') {
      return { key, scheme: scheme as unknown, rank: 3, index };
    }
    const description = scheme.description ?? defaultSchemeDescription({ name: scheme.name, in: scheme.in });
    const next = description === undefined ? scheme : { ...scheme, description };
    return { key, scheme: next as unknown, rank: ORDER[scheme.in] ?? 3, index };
  });
  entries.sort((a, b) => a.rank - b.rank || a.index - b.index);
  return {
    ...document,
    components: {
      ...document.components,
      securitySchemes: Object.fromEntries(entries.map((e) => [e.key, e.scheme])),
    },
  };
}
