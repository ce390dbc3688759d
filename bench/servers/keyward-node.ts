/**
 * keyward on plain node:http: the `(req, res, next)` middleware from keyward/node in
 * front of the protected route (header `X-API-Key`). Static keys or the SQLite store.
 */
import { createServer } from 'node:http';
import { apiKeyHeader, createGuard } from 'keyward';
import { apiKeyAuth } from 'keyward/node';
import { config, listen, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH, STATS_PATH } from './common.js';
import { benchVerifier } from './verifier.js';

const verifier = await benchVerifier(config());
const auth = apiKeyAuth(
  createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: verifier.verify }),
);
const json = { 'content-type': 'application/json' };
const publicBody = JSON.stringify(PUBLIC_BODY);
const secureBody = JSON.stringify(SECURE_BODY);

const server = createServer((req, res) => {
  if (req.url === PUBLIC_PATH) {
    res.writeHead(200, json).end(publicBody);
    return;
  }
  if (req.url === STATS_PATH) {
    res.writeHead(200, json).end(JSON.stringify({ lookups: verifier.lookups() }));
    return;
  }
  if (req.url !== SECURE_PATH) {
    res.writeHead(404, json).end(JSON.stringify({ detail: 'Not Found' }));
    return;
  }
  auth(req, res, () => {
    res.writeHead(200, json).end(secureBody);
  });
});
listen(server);
