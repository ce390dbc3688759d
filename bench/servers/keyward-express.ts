/** keyward on Express 5: `apiKeyAuth` from keyward/express on the protected route. */

import { createServer } from 'node:http';
import express from 'express';
import { apiKeyHeader, createGuard } from 'keyward';
import { apiKeyAuth } from 'keyward/express';
import { config, listen, PUBLIC_BODY, PUBLIC_PATH, SECURE_BODY, SECURE_PATH } from './common.js';
import { benchVerifier } from './verifier.js';

const verifier = await benchVerifier(config());
const guard = createGuard({ schemes: apiKeyHeader({ name: 'X-API-Key' }), verify: verifier.verify });

const app = express();
app.get(PUBLIC_PATH, (_req, res) => {
  res.json(PUBLIC_BODY);
});
app.get(SECURE_PATH, apiKeyAuth(guard), (_req, res) => {
  res.json(SECURE_BODY);
});
listen(createServer(app));
