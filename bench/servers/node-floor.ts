/**
 * The floor: plain node:http checking one static key the way careful hand-written code
 * does (SHA-256 of the presented key, timingSafeEqual against the stored digest).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { config, listen, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';

const expected = createHash('sha256').update(config().key).digest();
const json = { 'content-type': 'application/json' };
const publicBody = JSON.stringify(PUBLIC_BODY);
const secureBody = JSON.stringify(SECURE_BODY);
const deny = (detail: string) => JSON.stringify({ detail });

const server = createServer((req, res) => {
  if (req.url === PUBLIC_PATH) {
    res.writeHead(200, json).end(publicBody);
    return;
  }
  if (req.url !== SECURE_PATH) {
    res.writeHead(404, json).end(deny('Not Found'));
    return;
  }
  const key = req.headers['x-api-key'];
  if (typeof key !== 'string' || key === '') {
    res.writeHead(401, { ...json, 'www-authenticate': 'APIKey' }).end(deny('Not authenticated'));
    return;
  }
  const digest = createHash('sha256').update(key).digest();
  if (!timingSafeEqual(digest, expected)) {
    res.writeHead(401, { ...json, 'www-authenticate': 'APIKey' }).end(deny('Invalid API Key'));
    return;
  }
  res.writeHead(200, json).end(secureBody);
});
listen(server);
