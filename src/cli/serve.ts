import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { staticKeys } from '../core/static-keys.js';
import { createDemoApp } from '../server/app.js';
import { listen } from '../server/serve.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
}

function curlLines(url: string, key: string): string {
  return [
    `  curl -H 'X-API-Key: ${key}' ${url}/secure-data`,
    `  curl --cookie 'X-API-KEY=${key}' ${url}/secure-data`,
    `  curl '${url}/secure-data?x-api-key=${key}'`,
  ].join('\n');
}

/** `keyward serve`: the protected demo API. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('run the protected demo API (GET /secure-data, /health, /openapi.json, /docs)')
    .addOption(
      new Option('-p, --port <port>', 'port to listen on').env('PORT').default(8000).argParser(parsePort),
    )
    .addOption(new Option('--host <host>', 'address to bind').env('HOST').default('127.0.0.1'))
    .action(async (options: { port: number; host: string }) => {
      const configured = process.env.KEYWARD_API_KEYS?.trim();
      let generated: string | undefined;
      if (!configured) generated = randomBytes(32).toString('base64url');
      const verify = staticKeys(configured || generated);
      const app = createDemoApp({ verify });
      const server = await listen(app, options.port, options.host);
      const out = process.stdout;
      out.write(`keyward demo API listening on ${server.url}  (docs: ${server.url}/docs)\n`);
      if (generated) {
        out.write(
          `No KEYWARD_API_KEYS set: generated one key for this run. It is shown once and not kept:\n\n  ${generated}\n\n${curlLines(server.url, generated)}\n\n`,
        );
      }
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
