// Compiles the dashboard into dashboard/dist (app.js, app.css): run by the package's
// build script, so `npm ci` (prepare) and `npm run build` produce it. No CDN, no inline code.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
mkdirSync(`${here}dist`, { recursive: true });
await build({
  // main.ts imports app.css: esbuild writes it beside app.js as app.css.
  entryPoints: { app: `${here}src/main.ts` },
  outdir: `${here}dist`,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  legalComments: 'eof',
  logLevel: 'warning',
});
