/**
 * Peer: Express 5 with passport and passport-headerapikey (header `X-API-Key`, no
 * sessions). The verify callback checks one static key the same way as the node:http
 * floor (SHA-256, timingSafeEqual), where real apps usually query a database.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import passport from 'passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { config, listen, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';

const expected = createHash('sha256').update(config().key).digest();
const client = { id: 'client' };

passport.use(
  new HeaderAPIKeyStrategy({ header: 'X-API-Key', prefix: '' }, false, (apiKey, done) => {
    const digest = createHash('sha256').update(apiKey).digest();
    done(null, timingSafeEqual(digest, expected) ? client : false);
  }),
);

const app = express();
app.use(passport.initialize());
app.get(PUBLIC_PATH, (_req, res) => {
  res.json(PUBLIC_BODY);
});
app.get(SECURE_PATH, passport.authenticate('headerapikey', { session: false }), (_req, res) => {
  res.json(SECURE_BODY);
});
listen(createServer(app));
