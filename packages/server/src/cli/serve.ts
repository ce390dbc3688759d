import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import {
  type KeyManager,
  LEAK_RESPONSES,
  type LeakResponse,
  type RateLimit,
  type UsageRetention,
} from '@keyward/keys';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { FailMode, GuardLimits } from 'keyward';
import { KeywardConfigError, rateLimits, staticKeys } from 'keyward';
import { adminNodeRoute, createAdminApp } from '../admin/app.js';
import { LineWriter } from '../log/lines.js';
import { databaseLabel, openKeyManager, resolveDatabase } from '../open.js';
import { accessLogged, type LogLevel } from '../serve/access-log.js';
import { createDemoApp } from '../serve/app.js';
import { bootstrapDemoKey, createKeyInstructions, firstKeyInstructions } from '../serve/bootstrap.js';
import { GITHUB_SCANNING_KEYS_URL, GithubKeys } from '../serve/github-keys.js';
import { DEFAULT_REDIS_PREFIX, redisLabel, serveLimits } from '../serve/limits.js';
import { createServeMetrics, type ServeMetrics } from '../serve/metrics.js';
import { listenOps, type OpsListener } from '../serve/ops-server.js';
import { createReadiness, type ReadinessProbe } from '../serve/ready.js';
import { mountRevoke, REVOKE_MIN_MS, REVOKE_ROUTE } from '../serve/revoke.js';
import { MAX_SCANNING_BODY, mountSecretScanning, SECRET_SCANNING_ROUTE } from '../serve/secret-scanning.js';
import {
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  listen,
  type RequestListener,
} from '../serve/serve.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { fail } from './exit.js';
import type { CliIO } from './io.js';
import {
  allowPrivateWebhooksOption,
  dbOption,
  keyPrefixOf,
  keyPrefixOption,
  parseCount,
  parseDurationArg,
  parseIntervalArg,
  parseRateLimitArg,
} from './options.js';
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
  redisPrefix?: string;
  metricsPort?: number;
  metricsHost: string;
  readyTimeout: number;
  shutdownTimeout: number;
  keyPrefix?: string;
  githubScanningKeys?: string;
  revokeLimit: RateLimit;
  allowPrivateWebhooks?: boolean;
  expiringNotice: number;
  leakAction: LeakResponse;
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

type Observer = NonNullable<Parameters<typeof createDemoApp>[0]['observe']>;

/** One guard observer for both watchers (either may be off), without a wrapper when one is enough. */
function observerOf(a: Observer | undefined, b: Observer | undefined): Observer | undefined {
  if (!a || !b) return a ?? b;
  return (result, elapsedMs) => {
    a(result, elapsedMs);
    b(result, elapsedMs);
  };
}

function parseRedisPrefix(value: string): string {
  if (!/^[\x21-\x7e]{1,64}$/.test(value)) {
    throw new InvalidArgumentError('must be 1 to 64 printable characters without spaces');
  }
  return value;
}

/** `keyward serve`: the protected demo API, verifying against the key store by default. */
export function registerServe(program: Command, io: CliIO): void {
  program
    .command('serve')
    .description(
      'run the protected demo API (GET /secure-data, /admin-data (scope admin), /expensive-data (costs 5 credits), /health, /openapi.json, /docs); keys come from the key store, or from KEYWARD_API_KEYS when set. Several instances share keys through KEYWARD_DATABASE_URL=postgres://... and rate limits through KEYWARD_REDIS_URL=redis://...',
    )
    .addOption(
      new Option('-p, --port <port>', 'port to listen on (also $PORT)')
        .env('KEYWARD_PORT')
        .default(8000)
        .argParser(parsePort),
    )
    .addOption(
      new Option('--host <host>', 'address to bind (also $HOST)').env('KEYWARD_HOST').default('127.0.0.1'),
    )
    .addOption(dbOption())
    .addOption(keyPrefixOption())
    .addOption(
      new Option(
        '--usage-flush <duration>',
        'how often use counts are written, 1s to 1h (and always on shutdown)',
      )
        .env('KEYWARD_USAGE_FLUSH')
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
        .env('KEYWARD_CACHE_TTL')
        .default(60_000, '60s')
        .argParser(parseIntervalArg),
    )
    .addOption(
      new Option(
        '--rate-limit <rate>',
        'per-key limit for keys without their own (set with keys create/update --rate-limit), e.g. 100/1m',
      )
        .env('KEYWARD_RATE_LIMIT')
        .argParser(parseRateLimitArg),
    )
    .addOption(
      new Option(
        '--auth-failure-limit <rate>',
        'failed authentications per client address, e.g. 10/1m; over it the address gets 429 (keys verified here before keep working)',
      )
        .env('KEYWARD_AUTH_FAILURE_LIMIT')
        .argParser(parseRateLimitArg),
    )
    .addOption(
      new Option(
        '--trust-proxy <list>',
        'comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For (and X-Request-Id) is believed (default: none)',
      )
        .env('KEYWARD_TRUST_PROXY')
        .argParser(parseProxies),
    )
    .addOption(
      new Option('--redis-fail-mode <mode>', 'while Redis (KEYWARD_REDIS_URL) is unreachable')
        .env('KEYWARD_REDIS_FAIL_MODE')
        .choices(['open', 'closed', 'local'])
        .default('local', 'local: per-instance memory limits'),
    )
    .addOption(
      new Option(
        '--redis-prefix <prefix>',
        `prefix of the rate-limit keys in Redis, so deployments can share one (default: ${DEFAULT_REDIS_PREFIX})`,
      )
        .env('KEYWARD_REDIS_PREFIX')
        .argParser(parseRedisPrefix),
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
        '--github-scanning-keys <file|url>',
        `enable POST ${SECRET_SCANNING_ROUTE} for GitHub secret scanning, verifying signatures with GitHub's public keys from this JSON file or URL (GitHub's: ${GITHUB_SCANNING_KEYS_URL}; fetched with a 5s timeout, kept 1h); bodies over ${MAX_SCANNING_BODY / 1024} KiB get 413`,
      ).env('KEYWARD_GITHUB_SCANNING_KEYS'),
    )
    .addOption(
      new Option(
        '--revoke-limit <rate>',
        `self-revocation requests (POST ${REVOKE_ROUTE}, answered after at least ${REVOKE_MIN_MS} ms) per client address`,
      )
        .env('KEYWARD_REVOKE_LIMIT')
        .default(parseRateLimitArg('10/1m'), '10/1m')
        .argParser(parseRateLimitArg),
    )
    .addOption(
      allowPrivateWebhooksOption(
        'deliver webhooks (keyward webhooks add) to loopback and private addresses too',
      ),
    )
    .addOption(
      new Option(
        '--expiring-notice <duration>',
        'send key.expiring webhooks this long before a key expires (once per key and expiry)',
      )
        .env('KEYWARD_EXPIRING_NOTICE')
        .default(7 * 24 * 60 * 60 * 1000, '7d')
        .argParser(parseDurationArg),
    )
    .addOption(
      new Option('--leak-action <action>', 'what a key GitHub found in public gets')
        .choices(LEAK_RESPONSES)
        .env('KEYWARD_LEAK_ACTION')
        .default('revoke'),
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
        .env('KEYWARD_LOG_LEVEL')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option(
        '--metrics-port <port>',
        'serve GET /metrics (Prometheus), /ready and /health without authentication on this port, apart from the public one (default: off; the admin listener serves /metrics to root keys)',
      )
        .env('KEYWARD_METRICS_PORT')
        .argParser(parsePort),
    )
    .addOption(
      new Option('--metrics-host <host>', 'address the metrics port binds')
        .env('KEYWARD_METRICS_HOST')
        .default('127.0.0.1'),
    )
    .addOption(
      new Option(
        '--ready-timeout <duration>',
        'longest GET /ready waits for the key store and Redis before calling them down, 1s to 1h',
      )
        .env('KEYWARD_READY_TIMEOUT')
        .default(1000, '1s')
        .argParser(parseIntervalArg),
    )
    .addOption(
      new Option(
        '--shutdown-timeout <duration>',
        'on SIGTERM or SIGINT, how long in-flight requests may finish before their connections are cut, 1s to 1h',
      )
        .env('KEYWARD_SHUTDOWN_TIMEOUT')
        .default(10_000, '10s')
        .argParser(parseIntervalArg),
    )
    .action(async (flags: ServeFlags, command: Command) => {
      // $PORT and $HOST (set by many platforms) count when neither the flag nor KEYWARD_* does.
      if (command.getOptionValueSource('port') === 'default' && io.env.PORT) {
        flags.port = parseEnvPort(io.env.PORT);
      }
      if (command.getOptionValueSource('host') === 'default' && io.env.HOST) flags.host = io.env.HOST;
      if (flags.metricsPort !== undefined && flags.metricsPort !== 0 && flags.metricsPort === flags.port) {
        throw new KeywardConfigError('--metrics-port must differ from --port: metrics are never public');
      }
      const connections = connectionLimits(flags);
      // Listening for the signals from the start: one that comes while starting stops the
      // service once it has started (never the default action, which loses nothing only by luck).
      let stopOn: ((signal: NodeJS.Signals) => void) | undefined;
      let signalled: NodeJS.Signals | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopOn) stopOn(signal);
        else signalled ??= signal;
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const configured = io.env.KEYWARD_API_KEYS?.trim();
      const redisUrl = io.env.KEYWARD_REDIS_URL?.trim() || undefined;
      const redisPrefix = flags.redisPrefix ?? (io.env.KEYWARD_REDIS_PREFIX?.trim() || undefined);
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
      let ops: OpsListener | undefined;
      let admin: Awaited<ReturnType<typeof listen>> | undefined;
      let writer: LineWriter | undefined;
      let first: Awaited<ReturnType<typeof bootstrapDemoKey>>;
      let empty = false;
      // Metrics are kept whenever something serves them: the metrics port, or the admin
      // listener (which needs the key store, so not with static keys).
      const adminListener = flags.admin && !configured;
      const metrics: ServeMetrics | undefined =
        flags.metricsPort === undefined && !adminListener
          ? undefined
          : createServeMetrics({ dependencies: () => ready() });
      const probes: ReadinessProbe[] = [];
      const ready = createReadiness(probes, { timeoutMs: flags.readyTimeout });
      let github: GithubKeys | undefined;
      let dispatcher: WebhookDispatcher | undefined;
      try {
        if (configured) {
          verify = staticKeys(configured);
        } else {
          manager = await openKeyManager({
            database: flags.db,
            env: io.env,
            notice: say,
            actor: 'serve',
            prefix: keyPrefixOf(io, flags.keyPrefix),
            flushIntervalMs: flags.usageFlush,
            cache: { ttlMs: flags.cacheTtl },
            ...(metrics ? { onError: backgroundError(metrics) } : {}),
            analytics: { enabled: flags.analytics, retention: flags.analyticsRetention },
          });
          verify = manager.verifier();
          metrics?.track(manager);
          const store = manager.store;
          probes.push({ name: 'store', required: true, probe: () => store.get(READY_PROBE_ID) });
        }
        limits = await serveLimits({
          redisUrl,
          redisPrefix,
          failMode: flags.redisFailMode,
          perKeyDefault: flags.rateLimit,
          failures: flags.authFailureLimit,
          revocations: flags.revokeLimit,
          trustedProxies: flags.trustProxy,
          log: say,
          ...(metrics ? { onRedisError: metrics.redisError, onRedisState: metrics.redisState } : {}),
        });
        if (limits.ping) {
          // Only the `closed` fail mode answers 503 while Redis is down: only then is it required.
          probes.push({ name: 'redis', required: flags.redisFailMode === 'closed', probe: limits.ping });
        }
        // The request log is written at the HTTP server, in one write per event-loop turn:
        // the routes stay on Hono's fast path and the log costs no system call per request.
        const logging = flags.logLevel !== 'silent';
        writer = logging ? new LineWriter(io.stdout === process.stdout ? 1 : io.stdout) : undefined;
        if (flags.githubScanningKeys !== undefined) {
          if (!manager) {
            throw new KeywardConfigError(
              '--github-scanning-keys needs the key store: unset KEYWARD_API_KEYS',
            );
          }
          github = await GithubKeys.open({ source: flags.githubScanningKeys, log: say });
        }
        const leaks = manager && github && { manager, keys: github, action: flags.leakAction, log: say };
        const revocations = manager && { manager, limits: limits.revocations, log: say };
        const app = createDemoApp({
          verify,
          limits: limits.limits,
          noteRequests: logging,
          ready,
          // Metrics (when served) and usage analytics (unless turned off) watch every outcome.
          observe: observerOf(
            metrics?.observe,
            manager?.analytics.enabled ? manager.analytics.observe : undefined,
          ),
          mount: (a) => {
            if (leaks) mountSecretScanning(a, leaks);
            if (revocations) mountRevoke(a, revocations);
          },
        });
        const wrap = writer && accessLogWrap(writer, flags.logLevel, limits.limits, flags.trustProxy ?? []);
        server = await listen(app, flags.port, flags.host, connections, wrap).catch((error: unknown) => {
          throw listenError(error, flags.host, flags.port);
        });
        if (metrics && flags.metricsPort !== undefined) {
          const port = flags.metricsPort;
          ops = await listenOps({ port, host: flags.metricsHost, metrics: metrics.render, ready }).catch(
            (error: unknown) => {
              throw listenError(error, flags.metricsHost, port);
            },
          );
        }
        // Also from KEYWARD_ALLOW_PRIVATE_WEBHOOKS (=1 on, =0 off): see applyEnvFlags.
        const allowPrivateWebhooks = flags.allowPrivateWebhooks === true;
        // Webhooks need the store's settings table (SQLite, PostgreSQL).
        if (manager?.store.readMeta && manager.store.swapMeta) {
          dispatcher = new WebhookDispatcher({
            manager,
            allowPrivate: allowPrivateWebhooks,
            expiringNoticeMs: flags.expiringNotice,
            log: say,
            ...(metrics ? { onDelivery: metrics.webhook } : {}),
          });
          dispatcher.start();
        }
        // The admin API listens apart: the public port never serves its routes. With
        // --port 0 (tests, several instances) it takes any free port too unless told one.
        if (manager && flags.admin) {
          const adminPort = flags.adminPort ?? (flags.port === 0 ? 0 : 8001);
          const adminApp = createAdminApp({
            manager,
            limits: limits.limits as GuardLimits<never>,
            allowPrivateWebhooks,
            ...(metrics ? { metrics: metrics.render } : {}),
          });
          admin = await listen(
            adminApp,
            adminPort,
            flags.adminHost,
            connections,
            wrap,
            adminNodeRoute(adminApp),
          ).catch((error: unknown) => {
            throw listenError(error, flags.adminHost, adminPort);
          });
        }
        // Only once listening: a key issued by a start that then fails would be shown to nobody.
        first = manager && (await bootstrapDemoKey(manager));
        empty = !first && manager !== undefined && (await manager.list({ limit: 1 })).items.length === 0;
      } catch (error) {
        // Nothing may keep the process alive after a failed start: pools, LISTEN, Redis, timers.
        await ops?.close().catch(() => {});
        await server?.close().catch(() => {});
        await dispatcher?.stop().catch(() => {});
        await admin?.close().catch(() => {});
        await manager?.close().catch(() => {});
        await limits?.close().catch(() => {});
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        throw error;
      }
      const url = server.url;
      say(`keyward demo API listening on ${url}  (docs: ${url}/docs)`);
      if (ops) say(`Metrics on ${ops.url}/metrics (readiness: ${ops.url}/ready)`);
      if (admin) {
        say(
          `keyward admin API listening on ${admin.url}  (docs: ${admin.url}/v1/docs; root keys: keyward keys create --name ops --scopes 'keyward:*')`,
        );
        if (metrics) say(`Prometheus metrics at ${admin.url}/metrics (a root key with keyward:usage:read)`);
      } else if (configured && flags.admin)
        say('No admin API: keys come from KEYWARD_API_KEYS, not a key store.');
      const adminServer = admin;
      say(
        configured
          ? 'Verifying static keys from KEYWARD_API_KEYS.'
          : `Verifying keys against the key store ${manager!.store.location}; manage them with: npx keyward keys --help`,
      );
      say(
        // The ports as bound (a port 0 asked for is some free port).
        `Configuration: ${effectiveConfiguration(
          { ...flags, port: server.port, metricsPort: ops?.port },
          {
            database: configured ? 'none (static keys from KEYWARD_API_KEYS)' : databaseLabel(target),
            redis: redisUrl ? redisLabel(redisUrl) : 'off',
            redisPrefix: redisPrefix ?? DEFAULT_REDIS_PREFIX,
          },
        )}`,
      );
      if (github) {
        say(
          `GitHub secret scanning: POST ${url}${SECRET_SCANNING_ROUTE} (keys from ${github.source}; leak action: ${flags.leakAction}).`,
        );
      }
      if (first) say(`\n${firstKeyInstructions(url, first, database)}`);
      else if (empty) say(`\n${createKeyInstructions(database)}`);
      const running = server;

      let stopping = false;
      const stop = async (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        say(
          `keyward: ${signal}: not accepting connections; in-flight requests have ${seconds(flags.shutdownTimeout)} to finish`,
        );
        const cut = await running.shutdown(flags.shutdownTimeout);
        await Promise.all([ops?.close(), adminServer?.close()]);
        try {
          await dispatcher?.stop();
          // Flushes the usage counts gathered in memory: none is lost on a clean stop.
          await manager?.close();
          await limits?.close();
        } catch (error) {
          writer?.close();
          process.exit(fail(io, error));
        }
        say(
          cut === 0
            ? 'keyward: stopped; use counts and the request log are flushed'
            : `keyward: stopped; ${cut} connection(s) still busy after ${seconds(flags.shutdownTimeout)} were closed; use counts and the request log are flushed`,
        );
        writer?.close();
        process.exit(0);
      };
      stopOn = (signal) => void stop(signal);
      if (signalled) stopOn(signalled);
    });
}

/** An id no key has (ids are `key_` and 26 characters): a readiness probe reads it. */
const READY_PROBE_ID = 'key_readiness_probe';

function parseEnvPort(value: string): number {
  try {
    return parsePort(value);
  } catch {
    throw new KeywardConfigError(`PORT must be a port number (0-65535), not ${JSON.stringify(value)}`);
  }
}

/** KeyManager's background errors: counted, and a warning as before. */
function backgroundError(metrics: ServeMetrics) {
  return (error: unknown) => {
    metrics.storeError();
    const e = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.emitWarning(`key store background task failed (${e})`, 'KeywardWarning');
  };
}

const rateText = (r: RateLimit | undefined, none: string) =>
  r === undefined ? none : `${r.limit}/${seconds(r.windowSeconds * 1000)}`;

/**
 * The settings `serve` runs with, one `name=value` per flag, for its startup lines: never
 * a secret (no pepper, no key, a database or Redis URL without user and password).
 */
export function effectiveConfiguration(
  flags: ServeFlags,
  where: { database: string; redis: string; redisPrefix: string },
): string {
  const entries: [string, string | number][] = [
    ['host', flags.host],
    ['port', flags.port],
    ['db', where.database],
    ['usage-flush', seconds(flags.usageFlush)],
    ['cache-ttl', seconds(flags.cacheTtl)],
    ['rate-limit', rateText(flags.rateLimit, 'none')],
    ['auth-failure-limit', rateText(flags.authFailureLimit, 'off')],
    ['trust-proxy', flags.trustProxy?.length ? flags.trustProxy.join(',') : 'none'],
    ['redis', where.redis],
    ['redis-prefix', where.redisPrefix],
    ['redis-fail-mode', flags.redisFailMode],
    ['headers-timeout', seconds(flags.headersTimeout)],
    ['request-timeout', seconds(flags.requestTimeout)],
    ['keep-alive-timeout', seconds(flags.keepAliveTimeout)],
    ['max-connections', flags.maxConnections],
    ['log-level', flags.logLevel],
    ['metrics', flags.metricsPort === undefined ? 'off' : `${flags.metricsHost}:${flags.metricsPort}`],
    ['ready-timeout', seconds(flags.readyTimeout)],
    ['shutdown-timeout', seconds(flags.shutdownTimeout)],
  ];
  return entries.map(([k, v]) => `${k}=${v}`).join(' ');
}
