import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { KeyManager, RateLimit, UsageRetention } from '@keyward/keys';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { FailMode, GuardLimits } from 'keyward';
import { KeywardConfigError, rateLimits, staticKeys } from 'keyward';
import { createAdminApp } from '../admin/app.js';
import { LineWriter } from '../log/lines.js';
import { databaseLabel, openKeyManager, resolveDatabase } from '../open.js';
import { accessLogged, type LogLevel } from '../serve/access-log.js';
import { createDemoApp } from '../serve/app.js';
import { bootstrapDemoKey, createKeyInstructions, firstKeyInstructions } from '../serve/bootstrap.js';
import { serveLimits } from '../serve/limits.js';
import {
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  listen,
  type RequestListener,
} from '../serve/serve.js';
import { fail } from './exit.js';
import type { CliIO } from './io.js';
import { dbOption, parseCount, parseIntervalArg, parseRateLimitArg } from './options.js';
import { analyticsOption, retentionOption } from './usage.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
}

function parseProxies(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  try {
    // rateLimits() validates the list (addresses and CIDR ranges) the way requests will use it.
    rateLimits({ clientAddress: { trustedProxies: list } });
  } catch (error) {
    if (error instanceof KeywardConfigError) throw new InvalidArgumentError(error.message);
    throw error;
  }
  return list;
}

interface ServeFlags {
  analytics: boolean;
  analyticsRetention?: UsageRetention;
  port: number;
  host: string;
  db?: string;
  usageFlush: number;
  cacheTtl: number;
  rateLimit?: RateLimit;
  authFailureLimit?: RateLimit;
  trustProxy?: string[];
  redisFailMode: FailMode;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
  admin: boolean;
  adminPort?: number;
  adminHost: string;
}

/** The server's timeouts and connection cap; a head allowed longer than the whole request is refused. */
function connectionLimits(flags: ServeFlags): ConnectionLimits {
  if (flags.headersTimeout > flags.requestTimeout) {
    throw new KeywardConfigError('--headers-timeout must not be longer than --request-timeout');
  }
  return {
    headersTimeoutMs: flags.headersTimeout,
    requestTimeoutMs: flags.requestTimeout,
    keepAliveTimeoutMs: flags.keepAliveTimeout,
    maxConnections: flags.maxConnections,
  };
}

/** A failed listen as one line naming the address and the reason. */
function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const reasons: Record<string, string> = {
    EADDRINUSE: 'the address is already in use',
    EACCES: 'permission denied',
    EADDRNOTAVAIL: 'the address is not available on this machine',
  };
  const reason = (code && reasons[code]) ?? (error instanceof Error ? error.message : String(error));
  return new Error(`cannot listen on ${host}:${port}: ${reason}${code ? ` (${code})` : ''}`, {
    cause: error,
  });
}

/** The access log around the app's request listener: addresses as the limits see them, request ids from trusted proxies. */
function accessLogWrap(
  writer: LineWriter,
  level: LogLevel,
  limits: GuardLimits<unknown>,
  trustedProxies: readonly string[],
) {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address = '', bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, Number(bits), type);
  }
  const peer = (req: IncomingMessage) => {
    const address = req.socket.remoteAddress;
    // A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6.
    return address?.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  };
  return (listener: RequestListener) =>
    accessLogged(listener, {
      writer,
      level,
      // Behind trusted proxies, the client is who X-Forwarded-For says, as the limits read it.
      addressOf:
        trustedProxies.length === 0
          ? peer
          : (req) =>
              limits.address({
                header: (name) => req.headers[name],
                query: () => '',
                peer: () => peer(req),
              }) ?? peer(req),
      fromTrustedProxy: (req) => {
        const address = peer(req);
        return (
          address !== undefined &&
          isIP(address) !== 0 &&
          trusted.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
        );
      },
    });
}

const seconds = (ms: number) => `${ms / 1000}s`;

/** `keyward serve`: the protected demo API, verifying against the key store by default. */
export function registerServe(program: Command, io: CliIO): void {
  program
    .command('serve')
    .description(
      'run the protected demo API (GET /secure-data, /admin-data (scope admin), /expensive-data (costs 5 credits), /health, /openapi.json, /docs); keys come from the key store, or from KEYWARD_API_KEYS when set. Several instances share keys through KEYWARD_DATABASE_URL=postgres://... and rate limits through KEYWARD_REDIS_URL=redis://...',
    )
    .addOption(
      new Option('-p, --port <port>', 'port to listen on').env('PORT').default(8000).argParser(parsePort),
    )
    .addOption(new Option('--host <host>', 'address to bind').env('HOST').default('127.0.0.1'))
    .addOption(dbOption())
    .addOption(
      new Option(
        '--usage-flush <duration>',
        'how often use counts are written, 1s to 1h (and always on shutdown)',
      )
        .default(5000, '5s')
        .argParser(parseIntervalArg),
    )
    .addOption(analyticsOption())
    .addOption(retentionOption())
    .addOption(
      new Option(
        '--cache-ttl <duration>',
        'longest a verified key is trusted from memory if change notifications are lost, 1s to 1h',
      )
        .default(60_000, '60s')
        .argParser(parseIntervalArg),
    )
    .addOption(
      new Option(
        '--rate-limit <rate>',
        'per-key limit for keys without their own (set with keys create/update --rate-limit), e.g. 100/1m',
      ).argParser(parseRateLimitArg),
    )
    .addOption(
      new Option(
        '--auth-failure-limit <rate>',
        'failed authentications per client address, e.g. 10/1m; over it the address gets 429 (keys verified here before keep working)',
      ).argParser(parseRateLimitArg),
    )
    .addOption(
      new Option(
        '--trust-proxy <list>',
        'comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is believed (default: none)',
      ).argParser(parseProxies),
    )
    .addOption(
      new Option('--redis-fail-mode <mode>', 'while Redis (KEYWARD_REDIS_URL) is unreachable')
        .choices(['open', 'closed', 'local'])
        .default('local', 'local: per-instance memory limits'),
    )
    .addOption(
      new Option(
        '--headers-timeout <duration>',
        'time a client has to send the request head, 1s to 1h; then 408',
      )
        .env('KEYWARD_HEADERS_TIMEOUT')
        .default(
          DEFAULT_CONNECTION_LIMITS.headersTimeoutMs,
          seconds(DEFAULT_CONNECTION_LIMITS.headersTimeoutMs),
        )
        .argParser(parseIntervalArg),
    )
    .addOption(
      new Option('--request-timeout <duration>', 'time a client has to send the whole request, 1s to 1h')
        .env('KEYWARD_REQUEST_TIMEOUT')
        .default(
          DEFAULT_CONNECTION_LIMITS.requestTimeoutMs,
          seconds(DEFAULT_CONNECTION_LIMITS.requestTimeoutMs),
        )
        .argParser(parseIntervalArg),
    )
    .addOption(
      new Option(
        '--keep-alive-timeout <duration>',
        'how long an idle keep-alive connection stays open, 1s to 1h',
      )
        .env('KEYWARD_KEEP_ALIVE_TIMEOUT')
        .default(
          DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs,
          seconds(DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs),
        )
        .argParser(parseIntervalArg),
    )
    .addOption(
      new Option('--max-connections <n>', 'connections beyond this are closed at once (0: no cap)')
        .env('KEYWARD_MAX_CONNECTIONS')
        .default(DEFAULT_CONNECTION_LIMITS.maxConnections)
        .argParser(parseCount(0, 1_000_000)),
    )
    .addOption(
      new Option(
        '--admin-port <port>',
        'port of the admin API and dashboard (default 8001; 0 with --port 0: any free port)',
      )
        .env('KEYWARD_ADMIN_PORT')
        .argParser(parsePort),
    )
    .addOption(
      new Option('--admin-host <host>', 'address the admin listener binds (keep it private)')
        .env('KEYWARD_ADMIN_HOST')
        .default('127.0.0.1'),
    )
    .addOption(
      new Option('--no-admin', 'no admin listener (KEYWARD_NO_ADMIN set: the same)').env('KEYWARD_NO_ADMIN'),
    )
    .addOption(
      new Option('--log-level <level>', 'JSON request log on stdout (keys redacted; only key ids are logged)')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
        .default('info'),
    )
    .action(async (flags: ServeFlags) => {
      const connections = connectionLimits(flags);
      const configured = io.env.KEYWARD_API_KEYS?.trim();
      let manager: KeyManager | undefined;
      let limits: Awaited<ReturnType<typeof serveLimits>> | undefined;
      let verify: Parameters<typeof createDemoApp>[0]['verify'];
      const target = resolveDatabase(flags.db, io.env);
      // Never print a PostgreSQL URL: it may hold a password.
      const database =
        target.kind === 'sqlite' ? target.path : flags.db ? databaseLabel(target) : '"$KEYWARD_DATABASE_URL"';
      // Human lines go to stderr: stdout carries the JSON request log only.
      const say = (text: string) => io.stderr.write(`${text}\n`);
      let server: Awaited<ReturnType<typeof listen>> | undefined;
      let admin: Awaited<ReturnType<typeof listen>> | undefined;
      let writer: LineWriter | undefined;
      let first: Awaited<ReturnType<typeof bootstrapDemoKey>>;
      let empty = false;
      try {
        if (configured) {
          verify = staticKeys(configured);
        } else {
          manager = await openKeyManager({
            database: flags.db,
            env: io.env,
            notice: say,
            actor: 'serve',
            flushIntervalMs: flags.usageFlush,
            cache: { ttlMs: flags.cacheTtl },
            analytics: { enabled: flags.analytics, retention: flags.analyticsRetention },
          });
          verify = manager.verifier();
        }
        limits = await serveLimits({
          redisUrl: io.env.KEYWARD_REDIS_URL?.trim() || undefined,
          redisPrefix: io.env.KEYWARD_REDIS_PREFIX?.trim() || undefined,
          failMode: flags.redisFailMode,
          perKeyDefault: flags.rateLimit,
          failures: flags.authFailureLimit,
          trustedProxies: flags.trustProxy,
          log: say,
        });
        // The request log is written at the HTTP server, in one write per event-loop turn:
        // the routes stay on Hono's fast path and the log costs no system call per request.
        const logging = flags.logLevel !== 'silent';
        writer = logging ? new LineWriter(io.stdout === process.stdout ? 1 : io.stdout) : undefined;
        const app = createDemoApp({
          verify,
          limits: limits.limits,
          noteRequests: logging,
          // Usage analytics: every outcome counted in memory, flushed with --usage-flush.
          observe: manager?.analytics.enabled ? manager.analytics.observe : undefined,
        });
        const wrap = writer && accessLogWrap(writer, flags.logLevel, limits.limits, flags.trustProxy ?? []);
        server = await listen(app, flags.port, flags.host, connections, wrap).catch((error: unknown) => {
          throw listenError(error, flags.host, flags.port);
        });
        // The admin API listens apart: the public port never serves its routes. With
        // --port 0 (tests, several instances) it takes any free port too unless told one.
        if (manager && flags.admin) {
          const adminPort = flags.adminPort ?? (flags.port === 0 ? 0 : 8001);
          const adminApp = createAdminApp({ manager, limits: limits.limits as GuardLimits<never> });
          admin = await listen(adminApp, adminPort, flags.adminHost, connections, wrap).catch(
            (error: unknown) => {
              throw listenError(error, flags.adminHost, adminPort);
            },
          );
        }
        // Only once listening: a key issued by a start that then fails would be shown to nobody.
        first = manager && (await bootstrapDemoKey(manager));
        empty = !first && manager !== undefined && (await manager.list({ limit: 1 })).items.length === 0;
      } catch (error) {
        // Nothing may keep the process alive after a failed start: pools, LISTEN, Redis, timers.
        await server?.close().catch(() => {});
        await admin?.close().catch(() => {});
        await manager?.close().catch(() => {});
        await limits?.close().catch(() => {});
        throw error;
      }
      const url = server.url;
      say(`keyward demo API listening on ${url}  (docs: ${url}/docs)`);
      if (admin) {
        say(
          `keyward admin API listening on ${admin.url}  (docs: ${admin.url}/v1/docs; root keys: keyward keys create --name ops --scopes 'keyward:*')`,
        );
      } else if (configured && flags.admin)
        say('No admin API: keys come from KEYWARD_API_KEYS, not a key store.');
      const adminServer = admin;
      say(
        configured
          ? 'Verifying static keys from KEYWARD_API_KEYS.'
          : `Verifying keys against the key store ${manager!.store.location}; manage them with: keyward keys --help`,
      );
      if (first) say(`\n${firstKeyInstructions(url, first, database)}`);
      else if (empty) say(`\n${createKeyInstructions(database)}`);
      const running = server;

      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await Promise.all([running.close(), adminServer?.close()]);
        try {
          // Flushes the usage counts gathered in memory: none is lost on a clean stop.
          await manager?.close();
          await limits?.close();
        } catch (error) {
          writer?.close();
          process.exit(fail(io, error));
        }
        writer?.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
