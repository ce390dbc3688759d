import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Readiness, readinessBody } from './ready.js';

export interface OpsListenerOptions {
  port: number;
  host: string;
  /** `GET /metrics`: the Prometheus text (see `createServeMetrics().render`). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** `GET /ready`: readiness (see `createReadiness`). */
  ready?: () => Promise<Readiness>;
}

export interface OpsListener {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

const json = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, 'application/json', JSON.stringify(value));

/**
 * The operator's listener of `keyward serve --metrics-port`: `GET /metrics`, `/ready` and
 * `/health`, on its own address (127.0.0.1 by default), never on the public port.
 */
export function listenOps(options: OpsListenerOptions): Promise<OpsListener> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { detail: 'Method Not Allowed' });
    }
    if (path === '/metrics' && options.metrics) {
      const { contentType, body } = await options.metrics();
      return send(res, 200, contentType, body);
    }
    if (path === '/ready' && options.ready) {
      const r = await options.ready();
      return json(res, r.ready ? 200 : 503, readinessBody(r));
    }
    if (path === '/health') return json(res, 200, { status: 'ok' });
    return json(res, 404, { detail: 'Not Found' });
  };
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) json(res, 500, { detail: 'Internal Server Error' });
      else res.destroy();
    });
  });
  server.maxConnections = 100;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      const info = server.address() as AddressInfo;
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
