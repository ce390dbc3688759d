import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConformanceServer } from './fixture.js';

/** Serves a node:http listener (Express, node, a fetch bridge) on 127.0.0.1, port 0. */
export function listenNode(listener: RequestListener | Server): Promise<ConformanceServer> {
  const server = typeof listener === 'function' ? createServer(listener) : listener;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
