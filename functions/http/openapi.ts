// The OpenAPI 3.1 document of the HTTP API, served at GET /openapi.json and checked in as
// docs/openapi.json (a test keeps them equal; `npm run docs:openapi` rewrites the file).
//
// Request bodies come from the zod schemas that validate them: the admin routes' bodies are the
// validators themselves (admin-routes.ts); /v1/check's body is validated by hand on the hot path
// (check-request.ts, where a zod parse per decision would cost CPU), so its schema here is built
// from the same bounds and attribute list, and a test feeds both the same bodies. Answers are
// described by zod schemas too, turned into JSON Schema 2020-12 (OpenAPI 3.1's dialect) by zod.

import * as z from 'zod/mini';
import { ALLOW_KINDS, MAX_ALLOW_COMMENT } from '../core/allow-entry.ts';
import { POLICY_REQUEST_ATTRIBUTES } from '../core/policy-request.ts';
import type { Reason } from '../core/types.ts';
import { allowAddBody, releaseBody } from './admin-routes.ts';
import { MAX_ATTRIBUTES, MAX_VALUE_CHARS } from './check-request.ts';

/** A new schema each time: a description registered on one must not land on the others. */
const attribute = () => z.string().check(z.maxLength(MAX_VALUE_CHARS));

const ATTRIBUTE_HELP: Readonly<Record<string, string>> = {
  client_address: 'The SMTP client\'s IP address (IPv4 dotted quad or IPv6). Required.',
  client_name: 'The verified (forward-confirmed) client host name, `unknown` when there is none (the default).',
  sender: 'The envelope sender; empty for the null sender. Required.',
  recipient: 'The envelope recipient. Required.',
  policy_test_time: 'Replaces "now" for this decision (epoch seconds): a test hook.',
};

/** /v1/check's and /v1/explain's body: Postfix attribute names → strings. */
export const checkRequestSchema = z.catchall(
  z.object(
    Object.fromEntries(
      POLICY_REQUEST_ATTRIBUTES.map((name) => {
        const base = name === 'policy_test_time' ? z.union([attribute(), z.int()]) : attribute();
        const described = ATTRIBUTE_HELP[name] ? base.register(z.globalRegistry, { description: ATTRIBUTE_HELP[name] }) : base;
        return [name, name === 'client_address' || name === 'sender' || name === 'recipient' ? described : z.optional(described)];
      }),
    ),
  ),
  attribute(),
).register(z.globalRegistry, {
  description: `Postfix policy attributes (lower-case names of letters, digits and _, at most 64 characters; at most ${MAX_ATTRIBUTES} keys). Attributes greygate does not read are accepted and ignored.`,
});

/** Every reason, checked by the compiler against core/types.ts's Reason: a new one must be added here. */
const REASONS = {
  new: true, 'early-retry': true, 'triplet-found': true, 'client-whitelist': true, 'recipient-whitelist': true,
  'client-awl': true, 'org-awl': true, 'not-suspicious': true, dnswl: true, 'allow-entry': true,
} as const satisfies Record<Reason, true>;

const signalSchema = z.looseObject({ name: z.string() });

export const decisionSchema = z.object({
  action: z.string().register(z.globalRegistry, { description: 'What follows `action=` in a Postfix policy reply.' }),
  verdict: z.enum(['greylist', 'pass']),
  reason: z.enum(Object.keys(REASONS) as [Reason, ...Reason[]]),
  retry_after_seconds: z.optional(z.int()),
  header: z.optional(z.string()),
  signals: z.optional(z.array(signalSchema)),
  report_only: z.optional(z.object({ verdict: z.enum(['greylist', 'pass']), action: z.string(), retry_after_seconds: z.optional(z.int()) })),
});

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.optional(z.string()) }),
});

const tripletRecord = z.object({ first_seen: z.int(), last_seen: z.int(), expires_at: z.int() });
const clientRecord = z.object({ count: z.int(), last_seen: z.int(), expires_at: z.int() });
const keyPair = z.object({ clear: z.string(), stored: z.string() });

export const explanationSchema = z.object({
  ...decisionSchema.shape,
  steps: z.array(z.object({ rule: z.string(), outcome: z.string(), decided: z.boolean() })),
  keys: z.nullable(z.object({ triplet: keyPair, client: z.nullable(keyPair) })),
  records: z.nullable(z.object({ triplet: z.nullable(tripletRecord), client: z.nullable(clientRecord) })),
  identity: z.optional(z.looseObject({ kind: z.enum(['org', 'net']) })),
  would_write: z.object({ triplet: z.nullable(tripletRecord), client: z.nullable(clientRecord) }),
  written: z.literal(false),
  now: z.int(),
});

export const allowEntrySchema = z.object({
  id: z.string(),
  kind: z.enum(ALLOW_KINDS as [string, ...string[]]),
  value: z.string(),
  expiresAt: z.nullable(z.int()),
  comment: z.string().check(z.maxLength(MAX_ALLOW_COMMENT)),
  addedBy: z.string(),
  addedAt: z.int(),
});

const pendingTriplet = z.object({
  key: z.string(),
  client: z.optional(z.string()),
  sender: z.optional(z.string()),
  recipient: z.optional(z.string()),
  firstSeen: z.int(),
  lastSeen: z.int(),
  expiresAt: z.int(),
});

const SCHEMAS = {
  CheckRequest: checkRequestSchema,
  Decision: decisionSchema,
  Error: errorSchema,
  Explanation: explanationSchema,
  AllowEntry: allowEntrySchema,
  AllowAdd: allowAddBody,
  AllowList: z.object({ version: z.int(), entries: z.array(z.object({ ...allowEntrySchema.shape, live: z.boolean() })) }),
  AllowAdded: z.object({ entry: allowEntrySchema, version: z.int() }),
  AllowRemoved: z.object({ id: z.string(), removed: z.literal(true) }),
  Pending: z.object({ triplets: z.array(pendingTriplet), truncated: z.boolean() }),
  Release: releaseBody,
  Released: z.object({ released: z.array(pendingTriplet) }),
  Health: z.object({ status: z.enum(['ok', 'unavailable']) }),
} as const;

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: z.ZodMiniType): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonObject;
  return rest;
}

const ref = (name: keyof typeof SCHEMAS): JsonObject => ({ $ref: `#/components/schemas/${name}` });
const json = (name: keyof typeof SCHEMAS, description: string): JsonObject => ({ description, content: { 'application/json': { schema: ref(name) } } });
const error = (description: string): JsonObject => json('Error', description);

const CHECK_ERRORS = {
  '400': error('Bad input; `error.field` names the field. Nothing is written.'),
  '401': error('No token, or not an accepted one.'),
  '413': error('The body is larger than 64 KiB.'),
  '415': error('content-type is not application/json.'),
  '503': error('The store did not answer; accept the mail (fail open) or defer.'),
};
const ADMIN_ERRORS = {
  '400': error('Bad input; `error.field` names the field. Nothing is written.'),
  '401': error('No admin token, or not an accepted one.'),
  '403': error('A check token: the admin routes take admin tokens only.'),
  '404': error('No admin token is configured: the admin routes are off.'),
  '503': error('The store did not answer.'),
};
const ADMIN = [{ adminToken: [] }];
const query = (name: string, description: string): JsonObject => ({ name, in: 'query', required: false, description, schema: { type: 'string' } });

/** The document; built on each call (cheap, and nothing can change it between callers). */
export function openApiDocument(): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'greygate',
      // The API's version, not greygate's release: like /healthz, the open document tells a
      // stranger nothing about which software version answers.
      version: '1.0.0',
      description: 'Greylisting decisions for mail servers (docs/http-api.md), and run-time steering with admin tokens (docs/admin.md).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      securitySchemes: {
        checkToken: { type: 'http', scheme: 'bearer', description: 'A check token: its SHA-256 in --token-sha256 / GREYGATE_TOKEN_SHA256.' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'An admin token: its SHA-256 in --admin-token-sha256 / GREYGATE_ADMIN_TOKEN_SHA256.' },
      },
      schemas: Object.fromEntries(Object.entries(SCHEMAS).map(([name, schema]) => [name, jsonSchema(schema)])),
    },
    paths: {
      '/v1/check': {
        post: {
          operationId: 'check',
          summary: 'Decide about one (client, sender, recipient) triplet',
          security: [{ checkToken: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: ref('CheckRequest') } } },
          responses: { '200': json('Decision', 'The decision.'), ...CHECK_ERRORS },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Liveness, and whether decisions are being stored',
          security: [],
          responses: { '200': json('Health', 'Up, and decisions are stored.'), '503': json('Health', 'The store does not answer, or decisions cannot be stored.') },
        },
      },
      '/openapi.json': {
        get: { operationId: 'openapi', summary: 'This document', security: [], responses: { '200': { description: 'The OpenAPI 3.1 document.' } } },
      },
      '/v1/explain': {
        post: {
          operationId: 'explain',
          summary: 'The decision /v1/check would take now, its steps, keys and records; writes nothing',
          security: ADMIN,
          requestBody: { required: true, content: { 'application/json': { schema: ref('CheckRequest') } } },
          responses: { '200': json('Explanation', 'The explanation.'), ...ADMIN_ERRORS },
        },
      },
      '/v1/allow': {
        get: { operationId: 'listAllow', summary: 'The allow entries', security: ADMIN, responses: { '200': json('AllowList', 'Every entry, expired ones with live: false.'), ...ADMIN_ERRORS } },
        post: {
          operationId: 'addAllow',
          summary: 'Add (or replace) an allow entry; in force on every instance within 30 s',
          security: ADMIN,
          requestBody: { required: true, content: { 'application/json': { schema: ref('AllowAdd') } } },
          responses: { '201': json('AllowAdded', 'The entry as stored.'), ...ADMIN_ERRORS },
        },
        delete: {
          operationId: 'removeAllow',
          summary: 'Remove an allow entry',
          security: ADMIN,
          parameters: [{ name: 'id', in: 'query', required: true, description: 'KIND:VALUE, as listed.', schema: { type: 'string' } }],
          responses: { '200': json('AllowRemoved', 'Removed.'), ...ADMIN_ERRORS, '404': error('No such entry, or the admin routes are off.') },
        },
      },
      '/v1/pending': {
        get: {
          operationId: 'pending',
          summary: 'Triplets waiting for a retry, oldest first',
          security: ADMIN,
          parameters: [
            query('client', 'A client address (matched by its /24, /64) or an organisation.'),
            query('sender', 'An envelope sender (normalised as keys are).'),
            query('recipient', 'A recipient address.'),
            query('limit', 'At most this many (1 to 999999, default 1000).'),
          ],
          responses: { '200': json('Pending', 'The pending triplets.'), ...ADMIN_ERRORS },
        },
      },
      '/v1/release': {
        post: {
          operationId: 'release',
          summary: 'Let the next attempt of each matching pending triplet pass',
          security: ADMIN,
          requestBody: { required: true, content: { 'application/json': { schema: ref('Release') } } },
          responses: { '200': json('Released', 'The released triplets.'), ...ADMIN_ERRORS },
        },
      },
    },
  };
}

/** The document as served and as checked in: two-space JSON and a final newline. */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
