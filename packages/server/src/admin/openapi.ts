import type { OpenApiDocument } from 'keyward';
import { openApiSecurity } from 'keyward/node';
import { EVENT_GROUPS, EVENT_NAMES } from '../webhooks/registry.js';
import type { AdminAuth } from './auth.js';
import type { RootScope } from './scopes.js';

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const jsonResponse = (description: string, ref: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

const jsonBody = (ref: string, required = true) => ({
  required,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^key_' } };
const idempotencyParameter = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Repeating a POST with the same key (per root key, within 24 h) returns the first response with `Idempotent-Replayed: true`; a replayed create or rotate omits `key` (a plaintext key is shown once only).',
  schema: { type: 'string', maxLength: 255 },
};
const query = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

const webhookIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^wh_[0-9a-f]{16}$' },
};

const nameParameter = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };

const SCHEMAS = {
  Owner: {
    type: 'object',
    description: 'A client whose keys share one rate limit and one credit balance.',
    properties: {
      name: { type: 'string' },
      rateLimit: { oneOf: [{ $ref: '#/components/schemas/RateLimit' }, { type: 'null' }] },
      credits: { type: ['integer', 'null'], description: 'as of now; null for unlimited' },
      refill: { type: ['object', 'null'] },
      refilledAt: { type: ['string', 'null'], format: 'date-time' },
      metadata: { type: 'object' },
      maxLifetimeMs: { type: ['integer', 'null'] },
      restrictions: {
        type: ['object', 'null'],
        description:
          'where every key of the owner may be used (ipAllow, originAllow, routes), on top of each key’s own; null for anywhere',
        properties: {
          ipAllow: { type: 'array', items: { type: 'string' } },
          originAllow: { type: 'array', items: { type: 'string' } },
          routes: { type: 'array', items: { type: 'string' } },
        },
      },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  OwnerSettings: {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: { type: 'string', description: 'on create only' },
      rateLimit: {
        oneOf: [{ $ref: '#/components/schemas/RateLimit' }, { type: 'string' }, { type: 'null' }],
      },
      credits: { type: ['integer', 'null'] },
      refill: { type: ['string', 'object', 'null'], examples: ['1000/day', '50000/month'] },
      refillDay: { type: ['integer', 'null'] },
      timeZone: { type: 'string' },
      metadata: { type: 'object' },
      maxLifetime: { type: ['string', 'integer', 'null'], examples: ['90d'] },
      ipAllow: {
        type: ['array', 'string', 'null'],
        items: { type: 'string' },
        description: 'client addresses or CIDR ranges its keys may be used from; null or [] lifts (update)',
        examples: [['203.0.113.0/24', '2001:db8::/32']],
      },
      originAllow: {
        type: ['array', 'string', 'null'],
        items: { type: 'string' },
        description: 'browser origins (Origin, else Referer) its keys may be used from',
      },
      routes: {
        type: ['array', 'string', 'null'],
        items: { type: 'string' },
        description: "'METHOD /path' or operation ids its keys may call",
      },
    },
  },
  WebhookCreate: {
    type: 'object',
    additionalProperties: false,
    required: ['url', 'events'],
    properties: {
      url: {
        type: 'string',
        format: 'uri',
        description:
          'http or https; loopback and private addresses are refused unless serve runs with --allow-private-webhooks',
      },
      events: {
        type: 'array',
        minItems: 1,
        items: { enum: [...EVENT_NAMES, ...EVENT_GROUPS, '*'] },
        description: 'the events to send, a group (`key.*`, `owner.*`, `usage.*`), or ["*"] for all',
      },
    },
  },
  Webhook: {
    type: 'object',
    description: 'A registered receiver, as created: the only response that holds `secret`.',
    properties: {
      id: { type: 'string', pattern: '^wh_[0-9a-f]{16}$' },
      url: { type: 'string' },
      events: { type: 'array', items: { type: 'string' } },
      secret: {
        type: 'string',
        description:
          '`whsec_` + base64 of 32 random bytes; signs every delivery (Standard Webhooks). Shown once.',
      },
      createdAt: { type: 'string', format: 'date-time' },
      createdBy: { type: 'string', description: 'the root key id that registered it' },
    },
  },
  WebhookState: {
    type: 'object',
    description: 'A receiver and its deliveries; never its secret.',
    properties: {
      id: { type: 'string' },
      url: { type: 'string' },
      events: { type: 'array', items: { type: 'string' } },
      createdAt: { type: 'string', format: 'date-time' },
      createdBy: { type: ['string', 'null'] },
      delivered: { type: 'integer' },
      failed: { type: 'integer', description: 'events given up on after 24 h of retries' },
      retrying: { type: 'boolean' },
      attempts: { type: 'integer', description: 'failed attempts at the next event' },
      nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
      lastError: { type: ['string', 'null'] },
    },
  },
  WebhookList: {
    type: 'object',
    properties: { items: { type: 'array', items: { $ref: '#/components/schemas/WebhookState' } } },
  },
  WebhookTest: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      ok: { type: 'boolean', description: 'true when the receiver answered 2xx' },
      status: { type: 'integer', description: 'its HTTP status, 0 when none came' },
      error: { type: 'string' },
    },
  },
  OwnerPage: {
    type: 'object',
    properties: {
      items: { type: 'array', items: { $ref: '#/components/schemas/Owner' } },
      nextCursor: { type: ['string', 'null'] },
    },
  },
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details; `code` is stable.',
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      code: { type: 'string' },
      detail: { type: 'string' },
    },
    required: ['type', 'title', 'status', 'code'],
  },
  RateLimit: {
    type: 'object',
    properties: { limit: { type: 'integer' }, windowSeconds: { type: 'integer' } },
    required: ['limit', 'windowSeconds'],
  },
  Key: {
    type: 'object',
    description: 'A key record. Never the key itself, nor its hash.',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      owner: { type: ['string', 'null'] },
      display: { type: 'string', description: 'a short non-secret fragment, e.g. kw_AbCd…' },
      scopes: { type: 'array', items: { type: 'string' } },
      metadata: { type: 'object' },
      createdAt: { type: 'string', format: 'date-time' },
      expiresAt: { type: ['string', 'null'], format: 'date-time' },
      revokedAt: { type: ['string', 'null'], format: 'date-time' },
      enabled: { type: 'boolean' },
      lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
      useCount: { type: 'integer' },
      remainingUses: { type: ['integer', 'null'] },
      rateLimit: { oneOf: [{ $ref: '#/components/schemas/RateLimit' }, { type: 'null' }] },
      replaces: { type: ['string', 'null'] },
      replacedBy: { type: ['string', 'null'] },
      status: { enum: ['active', 'expired', 'revoked', 'disabled'] },
    },
  },
  CreatedKey: {
    allOf: [
      { $ref: '#/components/schemas/Key' },
      {
        type: 'object',
        properties: { key: { type: 'string', description: 'the plaintext key: shown this once' } },
      },
    ],
  },
  RotatedKey: {
    allOf: [
      { $ref: '#/components/schemas/CreatedKey' },
      { type: 'object', properties: { previous: { $ref: '#/components/schemas/Key' } } },
    ],
  },
  KeyPage: {
    type: 'object',
    properties: {
      items: { type: 'array', items: { $ref: '#/components/schemas/Key' } },
      nextCursor: { type: ['string', 'null'] },
    },
    required: ['items', 'nextCursor'],
  },
  KeySettings: {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: { type: 'string', maxLength: 200 },
      owner: { type: ['string', 'null'], maxLength: 200 },
      scopes: { type: 'array', items: { type: 'string' } },
      metadata: { type: 'object', description: 'at most 16 KiB of JSON' },
      expiresAt: { type: ['string', 'null'], format: 'date-time' },
      expiresIn: { type: ['string', 'integer'], description: 'a lifetime: "30d", "12h" or milliseconds' },
      uses: { type: ['integer', 'null'], description: 'uses left; null for unlimited' },
      rateLimit: {
        oneOf: [
          { $ref: '#/components/schemas/RateLimit' },
          { type: 'string', examples: ['100/1m'] },
          { type: 'null' },
        ],
      },
      enabled: { type: 'boolean' },
    },
  },
  Rotate: {
    type: 'object',
    additionalProperties: false,
    properties: {
      grace: {
        type: ['string', 'integer'],
        description: 'how long the old key keeps working: "24h" (default), "0" revokes it now',
      },
    },
  },
  VerifyRequest: {
    type: 'object',
    additionalProperties: false,
    properties: { key: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } },
    required: ['key'],
  },
  VerifyResult: {
    oneOf: [
      {
        type: 'object',
        properties: {
          valid: { const: true },
          keyId: { type: 'string' },
          owner: { type: ['string', 'null'] },
          scopes: { type: 'array', items: { type: 'string' } },
          credits: {
            type: ['integer', 'null'],
            description: 'credits left after this use (the key’s, else its owner’s); null when unlimited',
          },
        },
        required: ['valid', 'keyId', 'owner', 'scopes', 'credits'],
      },
      {
        type: 'object',
        properties: {
          valid: { const: false },
          code: {
            enum: ['invalid', 'expired', 'revoked', 'disabled', 'insufficient_scope', 'usage_exceeded'],
          },
        },
        required: ['valid', 'code'],
      },
    ],
  },
  AuditPage: {
    type: 'object',
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            seq: { type: 'integer' },
            at: { type: 'string', format: 'date-time' },
            actor: { type: 'string', description: 'the id of the root key that made the change' },
            action: { type: 'string' },
            keyId: { type: ['string', 'null'] },
            changes: { type: 'object' },
          },
        },
      },
      nextCursor: { type: ['string', 'null'] },
    },
  },
};

interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  scope: RootScope;
  summary: string;
  parameters?: unknown[];
  requestBody?: unknown;
  ok: [string, unknown];
}

const OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/v1/keys',
    scope: 'keyward:keys:write',
    summary: 'Create a key (the response carries the plaintext key, once)',
    requestBody: jsonBody('KeySettings'),
    ok: ['201', jsonResponse('The new key, with `key`', 'CreatedKey')],
  },
  {
    method: 'get',
    path: '/v1/keys',
    scope: 'keyward:keys:read',
    summary: 'List keys, in creation order, a page at a time',
    parameters: [
      query('owner', 'only keys of this owner'),
      query('status', 'only keys in this state', { enum: ['active', 'expired', 'revoked', 'disabled'] }),
      query('scope', 'only keys holding this scope'),
      query('q', 'an exact key id, or text in the name or owner (ASCII case-insensitive)'),
      query('limit', '1 to 1000, default 50', { type: 'integer', minimum: 1, maximum: 1000 }),
      query('cursor', '`nextCursor` of the previous page'),
    ],
    ok: ['200', jsonResponse('A page of keys', 'KeyPage')],
  },
  {
    method: 'post',
    path: '/v1/keys/verify',
    scope: 'keyward:keys:read',
    summary: 'Verify a key for a service in another language (counted like any verification)',
    requestBody: jsonBody('VerifyRequest'),
    ok: ['200', jsonResponse('Whether the key is valid, and why not', 'VerifyResult')],
  },
  {
    method: 'get',
    path: '/v1/keys/{id}',
    scope: 'keyward:keys:read',
    summary: 'A key',
    parameters: [idParameter],
    ok: ['200', jsonResponse('The key', 'Key')],
  },
  {
    method: 'patch',
    path: '/v1/keys/{id}',
    scope: 'keyward:keys:write',
    summary: 'Change a key’s settings',
    parameters: [idParameter],
    requestBody: jsonBody('KeySettings'),
    ok: ['200', jsonResponse('The key as changed', 'Key')],
  },
  {
    method: 'delete',
    path: '/v1/keys/{id}',
    scope: 'keyward:keys:write',
    summary: 'Delete a key (its audit history stays; prefer revoke)',
    parameters: [idParameter],
    ok: ['200', jsonResponse('The deleted key', 'Key')],
  },
  ...(['revoke', 'disable', 'enable'] as const).map(
    (action): Operation => ({
      method: 'post',
      path: `/v1/keys/{id}/${action}`,
      scope: 'keyward:keys:write',
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} a key`,
      parameters: [idParameter],
      ok: ['200', jsonResponse('The key as changed', 'Key')],
    }),
  ),
  {
    method: 'post',
    path: '/v1/keys/{id}/rotate',
    scope: 'keyward:keys:write',
    summary: 'Rotate a key: a successor (its plaintext shown once); the old key works for the grace',
    parameters: [idParameter],
    requestBody: jsonBody('Rotate', false),
    ok: ['201', jsonResponse('The successor, with `key`, and the old key', 'RotatedKey')],
  },
  {
    method: 'get',
    path: '/v1/owners',
    scope: 'keyward:keys:read',
    summary: 'List owners, in name order',
    parameters: [
      query('limit', '1 to 1000, default 100', { type: 'integer', minimum: 1, maximum: 1000 }),
      query('cursor', '`nextCursor` of the previous page'),
    ],
    ok: ['200', jsonResponse('A page of owners', 'OwnerPage')],
  },
  {
    method: 'post',
    path: '/v1/owners',
    scope: 'keyward:keys:write',
    summary: 'Create an owner',
    requestBody: jsonBody('OwnerSettings'),
    ok: ['201', jsonResponse('The owner', 'Owner')],
  },
  {
    method: 'get',
    path: '/v1/owners/{name}',
    scope: 'keyward:keys:read',
    summary: 'An owner, with its credits as of now',
    parameters: [nameParameter],
    ok: ['200', jsonResponse('The owner', 'Owner')],
  },
  {
    method: 'patch',
    path: '/v1/owners/{name}',
    scope: 'keyward:keys:write',
    summary: 'Change an owner’s limits, credits, refill, metadata or maximum key lifetime',
    parameters: [nameParameter],
    requestBody: jsonBody('OwnerSettings'),
    ok: ['200', jsonResponse('The owner as changed', 'Owner')],
  },
  {
    method: 'delete',
    path: '/v1/owners/{name}',
    scope: 'keyward:keys:write',
    summary: 'Delete an owner (refused while it has live keys, unless force=true revokes them)',
    parameters: [nameParameter, query('force', 'revoke its live keys too', { type: 'boolean' })],
    ok: ['200', jsonResponse('The deleted owner', 'Owner')],
  },
  ...(
    [
      [
        '/v1/usage',
        'Usage of the deployment, a key (`key`) or an owner (`owner`), as `keyward usage --json`',
      ],
      ['/v1/keys/{id}/usage', 'Usage of one key, as `keyward usage --key ID --json`'],
    ] as const
  ).map(
    ([path, summary]): Operation => ({
      method: 'get',
      path,
      scope: 'keyward:usage:read',
      summary,
      parameters: [
        ...(path === '/v1/usage' ? [query('key', 'a key id'), query('owner', 'an owner')] : [idParameter]),
        query('since', 'a duration back from now (24h, 7d) or an ISO 8601 time; default 24h'),
        query('until', 'the same; default now'),
        query('granularity', 'default: minute up to 2 h, hour up to 7 d, day beyond', {
          enum: ['minute', 'hour', 'day'],
        }),
      ],
      ok: [
        '200',
        {
          description:
            'Counts per outcome in each period: `scope`, `granularity`, `since`, `until`, `totals`, `buckets`',
        },
      ],
    }),
  ),
  {
    method: 'get',
    path: '/v1/usage/top',
    scope: 'keyward:usage:read',
    summary: 'The busiest keys or owners, as `keyward usage top --json`',
    parameters: [
      query('since', 'default 7d'),
      query('until', 'default now'),
      query('by', 'rank by', { enum: ['valid', 'refused'] }),
      query('group', 'keys or owners', { enum: ['key', 'owner'] }),
      query('limit', '1 to 1000, default 20', { type: 'integer', minimum: 1, maximum: 1000 }),
    ],
    ok: ['200', { description: '`group`, `by`, `since`, `until`, `granularity`, `items` busiest first' }],
  },
  {
    method: 'get',
    path: '/v1/audit',
    scope: 'keyward:audit:read',
    summary: 'The audit log, newest first',
    parameters: [
      query('key', 'only entries of this key id'),
      query('owner', 'only entries of keys of this owner'),
      query('since', 'only entries at or after this ISO 8601 time', { type: 'string', format: 'date-time' }),
      query('limit', '1 to 1000, default 50', { type: 'integer', minimum: 1, maximum: 1000 }),
      query('cursor', '`nextCursor` of the previous page'),
    ],
    ok: ['200', jsonResponse('A page of audit entries', 'AuditPage')],
  },
  {
    method: 'post',
    path: '/v1/webhooks',
    scope: 'keyward:webhooks:write',
    summary: 'Register a webhook receiver; its signing secret is in this response only',
    requestBody: jsonBody('WebhookCreate'),
    ok: ['201', jsonResponse('The receiver, with `secret` (shown once)', 'Webhook')],
  },
  {
    method: 'get',
    path: '/v1/webhooks',
    scope: 'keyward:webhooks:write',
    summary: 'List receivers and their deliveries (never the secrets)',
    ok: ['200', jsonResponse('Every receiver', 'WebhookList')],
  },
  {
    method: 'delete',
    path: '/v1/webhooks/{id}',
    scope: 'keyward:webhooks:write',
    summary: 'Remove a receiver: nothing more is sent to it',
    parameters: [webhookIdParameter],
    ok: ['200', { description: '`{id, removed: true}`' }],
  },
  {
    method: 'post',
    path: '/v1/webhooks/{id}/test',
    scope: 'keyward:webhooks:write',
    summary: 'Send a signed `webhook.test` event to a receiver now',
    parameters: [webhookIdParameter],
    ok: ['200', jsonResponse('Whether the receiver answered 2xx', 'WebhookTest')],
  },
];

const METRICS_OPERATION: Operation = {
  method: 'get',
  path: '/metrics',
  scope: 'keyward:usage:read',
  summary: 'Prometheus metrics of this instance (the text exposition format)',
  ok: [
    '200',
    {
      description: 'Counters, gauges and histograms, never a label per key',
      content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
    },
  ],
};

/** The admin API's OpenAPI 3.1 document; `metrics` when the app serves `GET /metrics`. */
export function adminDocument(auth: AdminAuth, version: string, metrics = false): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  let securitySchemes: Record<string, unknown> = {};
  for (const op of metrics ? [...OPERATIONS, METRICS_OPERATION] : OPERATIONS) {
    const security = openApiSecurity(auth.guardFor(op.scope));
    securitySchemes = { ...securitySchemes, ...security.securitySchemes };
    const parameters = [...(op.parameters ?? []), ...(op.method === 'post' ? [idempotencyParameter] : [])];
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      operationId: `${op.method}_${op.path.replace(/[{}]/g, '').split('/').filter(Boolean).join('_')}`,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.requestBody ? { requestBody: op.requestBody } : {}),
      security: security.security,
      responses: {
        [op.ok[0]]: op.ok[1],
        '400': problemResponse('Invalid input (`invalid_input`, `invalid_json`)'),
        '401': problemResponse('No root key, or not a valid one'),
        '403': problemResponse(
          'The root key lacks the scope (`insufficient_scope`), or a missing CSRF token',
        ),
        ...(op.path.includes('{id}')
          ? {
              '404': op.path.startsWith('/v1/webhooks/')
                ? problemResponse('No such webhook (`webhook_not_found`)')
                : problemResponse('No such key (`key_not_found`)'),
            }
          : {}),
        ...(op.path.includes('{name}')
          ? { '404': problemResponse('No such owner (`owner_not_found`)') }
          : {}),
        ...(op.method === 'post'
          ? {
              '409': problemResponse(
                'The key’s state forbids it, or the same Idempotency-Key is still running',
              ),
              '422': problemResponse('The Idempotency-Key was used for another request'),
            }
          : {}),
        '503': problemResponse('The key store is unavailable'),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'keyward admin API',
      version,
      description:
        'Manage keys without a shell on the server. Authenticate with a root key (a keyward key with keyward:* scopes) as `Authorization: Bearer <key>` or `X-API-Key`. Errors are `application/problem+json` with a stable `code`.',
    },
    paths,
    components: { securitySchemes, schemas: SCHEMAS },
  };
}
