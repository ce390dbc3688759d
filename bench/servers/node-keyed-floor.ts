/** Reference: plain node:http with the keyed check of keyed-check.ts (target 1's floor on node:http). */
import { createServer } from 'node:http';
import { config, listen, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';
import { DENY_INVALID, DENY_MISSING, keyedCheck } from './keyed-check.js';

const check = keyedCheck(config().key);
const json = { 'content-type': 'application/json' };
const deny = { ...json, 'www-authenticate': 'APIKey' };
const publicBody = JSON.stringify(PUBLIC_BODY);
const secureBody = JSON.stringify(SECURE_BODY);

const server = createServer((req, res) => {
  if (req.url === PUBLIC_PATH) {
    res.writeHead(200, json).end(publicBody);
    return;
  }
  if (req.url !== SECURE_PATH) {
    res.writeHead(404, json).end(JSON.stringify({ detail: 'Not Found' }));
    return;
  }
  const key = req.headers['x-api-key'];
  if (key === undefined) {
    res.writeHead(401, deny).end(DENY_MISSING);
    return;
  }
  if (!check(key)) {
    res.writeHead(401, deny).end(DENY_INVALID);
    return;
  }
  res.writeHead(200, json).end(secureBody);
});
listen(server);
