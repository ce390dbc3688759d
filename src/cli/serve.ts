import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { staticKeys } from '../core/static-keys.js';
import type { KeyManager } from '../keys/manager.js';
import { openKeyManager, resolveDatabase } from '../keys/open.js';
import { createDemoApp } from '../server/app.js';
import { bootstrapDemoKey, firstKeyInstructions } from '../server/bootstrap.js';
import { listen } from '../server/serve.js';
import { fail } from './exit.js';
import type { CliIO } from './io.js';
import { dbOption, parseDurationArg } from './options.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
}

interface ServeFlags {
  port: number;
  host: string;
  db?: string;
  usageFlush: number;
}

/** `keyward serve`: the protected demo API, verifying against the key store by default. */
export function registerServe(program: Command, io: CliIO): void {
  program
    .command('serve')
    .description(
      'run the protected demo API (GET /secure-data, /admin-data (scope admin), /health, /openapi.json, /docs); keys come from the key store, or from KEYWARD_API_KEYS when set',
    )
    .addOption(
      new Option('-p, --port <port>', 'port to listen on').env('PORT').default(8000).argParser(parsePort),
    )
    .addOption(new Option('--host <host>', 'address to bind').env('HOST').default('127.0.0.1'))
    .addOption(dbOption())
    .addOption(
      new Option('--usage-flush <duration>', 'how often use counts are written (and always on shutdown)')
        .default(5000, '5s')
        .argParser(parseDurationArg),
    )
    .action(async (flags: ServeFlags) => {
      const configured = io.env.KEYWARD_API_KEYS?.trim();
      let manager: KeyManager | undefined;
      let verify: Parameters<typeof createDemoApp>[0]['verify'];
      const database = resolveDatabase(flags.db, io.env).path;
      if (configured) {
        verify = staticKeys(configured);
      } else {
        manager = await openKeyManager({
          database: flags.db,
          env: io.env,
          notice: (m) => io.stderr.write(`${m}\n`),
          actor: 'serve',
          flushIntervalMs: flags.usageFlush,
        });
        verify = manager.verifier();
      }
      const first = manager && (await bootstrapDemoKey(manager));
      const app = createDemoApp({ verify });
      const server = await listen(app, flags.port, flags.host);
      io.stdout.write(`keyward demo API listening on ${server.url}  (docs: ${server.url}/docs)\n`);
      io.stdout.write(
        configured
          ? 'Verifying static keys from KEYWARD_API_KEYS.\n'
          : `Verifying keys against the key store ${database}; manage them with: keyward keys --help\n`,
      );
      if (first) io.stdout.write(`\n${firstKeyInstructions(server.url, first, database)}\n`);

      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await server.close();
        try {
          // Flushes the usage counts gathered in memory: none is lost on a clean stop.
          await manager?.close();
        } catch (error) {
          process.exit(fail(io, error));
        }
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
