import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A static response for the docs page and its assets. */
export interface StaticAsset {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | string;
}

export interface DocsPageOptions {
  /** Where the page is served, e.g. `/docs`. Assets live below it. */
  docsPath: string;
  /** URL of the OpenAPI document, e.g. `/openapi.json`. */
  openapiPath: string;
  title?: string;
}

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Swagger UI focuses the last key field of the Authorize dialog (every field has the same
 * id), which scrolls the dialog down to the last scheme. Once the dialog opens, this
 * scrolls it back to its top and focuses the first field: the header, listed first.
 */
const AUTHORIZE_AT_TOP = `document.addEventListener('click', function (event) {
  var target = event.target;
  if (!(target instanceof Element) || !target.closest('.auth-wrapper .authorize')) return;
  var tries = 0;
  (function settle() {
    var dialog = document.querySelector('.dialog-ux .modal-ux');
    if (!dialog) {
      if (++tries < 50) setTimeout(settle, 20);
      return;
    }
    setTimeout(function () {
      var content = dialog.querySelector('.modal-ux-content');
      var first = dialog.querySelector('.auth-container input');
      if (first) first.focus({ preventScroll: true });
      if (content) content.scrollTop = 0;
      dialog.scrollTop = 0;
    }, 0);
  })();
});
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The interactive docs page (Swagger UI from the installed `swagger-ui-dist` package,
 * served by the app itself, so it works without internet access). Returns a lookup
 * from a request path to a ready response; `undefined` for paths that are not its own.
 */
export function docsPage(options: DocsPageOptions): (path: string) => StaticAsset | undefined {
  const base = options.docsPath.replace(/\/+$/, '');
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const files = new Map<string, StaticAsset>();
  for (const [name, type] of Object.entries(ASSETS)) {
    files.set(`${base}/${name}`, {
      status: 200,
      headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' },
      body: readFileSync(join(dist, name)),
    });
  }
  const init = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(options.openapiPath)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
};
${AUTHORIZE_AT_TOP}`;
  files.set(`${base}/init.js`, {
    status: 200,
    headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' },
    body: init,
  });
  const title = escapeHtml(options.title ?? 'API docs');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" type="image/png" href="${base}/favicon-32x32.png">
<link rel="stylesheet" href="${base}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${base}/swagger-ui-bundle.js"></script>
<script src="${base}/init.js"></script>
</body>
</html>
`;
  const page: StaticAsset = {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
    },
    body: html,
  };
  files.set(base, page);
  return (path) => files.get(path);
}

const REDOC_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; worker-src blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The directory of the installed `redoc` package's bundles, or undefined when it is not installed. */
function redocBundles(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('redoc/package.json')), 'bundles');
  } catch {
    return undefined;
  }
}

/**
 * The ReDoc page (the standalone bundle of the installed `redoc` package, served by the
 * app itself: it works offline). ReDoc's attribution link in the side menu carries an image
 * from its CDN: the page's content security policy blocks it, so nothing is fetched from
 * elsewhere. `undefined` when `redoc` is not installed: install it
 * (`npm install redoc`) to get the page.
 */
export function redocPage(options: DocsPageOptions): ((path: string) => StaticAsset | undefined) | undefined {
  const bundles = redocBundles();
  if (bundles === undefined) return undefined;
  const base = options.docsPath.replace(/\/+$/, '');
  let bundle: StaticAsset | undefined;
  const files = new Map<string, StaticAsset>();
  files.set(`${base}/redoc-init.js`, {
    status: 200,
    headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' },
    // What to paste and where, per scheme, at the top of the page: ReDoc shows a scheme's
    // description only beside each operation.
    body: `fetch(${JSON.stringify(options.openapiPath)})
  .then(function (response) { return response.json(); })
  .then(function (spec) {
    var schemes = (spec.components && spec.components.securitySchemes) || {};
    var lines = Object.keys(schemes).map(function (name) {
      var s = schemes[name];
      var where = s.type === 'apiKey' ? ' (' + s.in + ' \`' + s.name + '\`)' : '';
      return '- **' + name + '**' + where + ': ' + String(s.description || '').replace(/\\n+/g, ' ');
    });
    spec.info = spec.info || {};
    if (lines.length > 0) {
      spec.info.description = (spec.info.description ? spec.info.description + '\\n\\n' : '') +
        '## Authentication\\n\\n' + lines.join('\\n');
    }
    Redoc.init(spec, { hideDownloadButton: false }, document.getElementById('redoc'));
  });
`,
  });
  const title = escapeHtml(options.title ?? 'API docs');
  files.set(base, {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'content-security-policy': REDOC_CSP,
      'x-content-type-options': 'nosniff',
    },
    body: `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<div id="redoc"></div>
<script src="${base}/redoc.standalone.js"></script>
<script src="${base}/redoc-init.js"></script>
</body>
</html>
`,
  });
  return (path) => {
    if (path === `${base}/redoc.standalone.js`) {
      // Read on first use: 1 MB that apps never asking for /redoc need not hold.
      bundle ??= {
        status: 200,
        headers: {
          'content-type': 'text/javascript; charset=utf-8',
          'cache-control': 'public, max-age=86400',
        },
        body: readFileSync(join(bundles, 'redoc.standalone.js')),
      };
      return bundle;
    }
    return files.get(path);
  };
}
