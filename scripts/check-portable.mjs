// The portable entries of `keyward` bundle for a runtime without Node (a worker, Deno,
// the browser): esbuild --platform=neutral over the built package, frameworks external.
// Any `node:` import, a Node global, or an unresolved module on that path fails the check.
import { build } from 'esbuild';

const entries = ['index.js', 'hono/index.js', 'fetch/index.js'].map((e) => `packages/keyward/dist/${e}`);
const external = ['hono', 'hono/*'];
let failed = false;
for (const entry of entries) {
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'neutral',
      format: 'esm',
      external,
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0].text;
    const nodeOnly = code.match(/\bfrom\s*["']node:[^"']+["']|\brequire\(|\bBuffer\.|\bprocess\.env\b/g);
    if (nodeOnly) throw new Error(`Node-only code in the bundle: ${[...new Set(nodeOnly)].join(', ')}`);
    console.log(`ok   ${entry} (${(code.length / 1024).toFixed(1)} kB)`);
  } catch (error) {
    failed = true;
    const errors = error.errors?.map((e) => `${e.location?.file ?? ''}: ${e.text}`).join('\n     ');
    console.error(`FAIL ${entry}\n     ${errors ?? error.message}`);
  }
}
process.exit(failed ? 1 : 0);
