// The admin routes: the CLI's `explain`, `allow`, `pending` and `release` over HTTP, for a fleet
// and for tools (docs/admin.md, docs/http-api.md).
//
//   POST   /v1/explain   same body as /v1/check → the decision, its steps, keys and records; no write
//   GET    /v1/allow     → { version, entries }
//   POST   /v1/allow     { kind, value, expires?, comment? } → 201 { entry, version }
//   DELETE /v1/allow?id=KIND:VALUE → { id, removed: true } | 404
//   GET    /v1/pending?client=&sender=&recipient=&limit= → { triplets, truncated }
//   POST   /v1/release   { client?, sender?, recipient? } → { released }
//
// They take admin tokens only (`--admin-token-sha256`): no token or an unknown one gets 401, a
// check token 403. Without admin tokens configured they are not mounted at all (404), loopback or
// not: steering greygate is never open by default. Each change is logged with the token's id (the
// first 12 hex digits of its SHA-256, as configured), never the token.

import type { Context, Hono } from 'hono';
import * as z from 'zod/mini';
import type { Logger } from '../../policy/logger.ts';
import { addAllowEntry, listAllowEntries, pendingTriplets, releaseTriplets, removeAllowEntry, type TripletSelector } from '../allow/admin-ops.ts';
import { explain, explanationBody, type ExplainDeps } from '../allow/explain.ts';
import { parseExpiry } from '../allow/expiry.ts';
import { AllowEntryError } from '../core/allow-entry.ts';
import type { PolicyConfig } from '../core/policy-config.ts';
import type { StoreAdmin } from '../store/store-admin.ts';
import { ApiError } from './api-error.ts';
import { matchingTokenSha256 } from './bearer-auth.ts';
import { checkBodyToRequest } from './check-request.ts';
import { limitBody, readJson } from './json-body.ts';
import { ADMIN_PATHS, type AdminApiOptions } from './admin-api.ts';

export { ADMIN_PATHS, adminApiFor, type AdminApiOptions } from './admin-api.ts';

/** The id a log line names a token by: a prefix of its configured digest, useless to an attacker. */
export function tokenId(sha256Hex: string): string {
  return sha256Hex.slice(0, 12);
}

// Bodies: strict objects, so a misspelt field is an error naming it instead of being ignored.
export const allowAddBody = z.strictObject({
  kind: z.enum(['client', 'host', 'org', 'recipient']),
  value: z.string().check(z.maxLength(320)),
  expires: z.optional(z.string().check(z.maxLength(40))),
  comment: z.optional(z.string().check(z.maxLength(200))),
});

export const releaseBody = z.strictObject({
  client: z.optional(z.string().check(z.maxLength(320))),
  sender: z.optional(z.string().check(z.maxLength(512))),
  recipient: z.optional(z.string().check(z.maxLength(512))),
});

function parseBody<T>(schema: z.ZodMiniType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || (issue?.code === 'unrecognized_keys' ? String((issue as { keys?: string[] }).keys?.[0] ?? '') : '');
  const what = issue?.code === 'unrecognized_keys' ? 'is not a field of this request' : issue?.message ?? 'is invalid';
  throw new ApiError(400, 'invalid-field', `${field || 'body'}: ${what}`, field ? { field } : undefined);
}

function badInput(error: unknown): never {
  if (error instanceof AllowEntryError) throw new ApiError(400, 'invalid-field', `${error.field}: ${error.message}`, { field: error.field });
  throw error;
}

function selectorFrom(query: (name: string) => string | undefined): TripletSelector {
  const selector: TripletSelector = {};
  for (const name of ['client', 'sender', 'recipient'] as const) {
    const value = query(name);
    if (value !== undefined) selector[name] = value;
  }
  return selector;
}

/** Mounts the admin routes on `app` (before its other /v1 routes' auth) when admin tokens are configured. */
export function mountAdminRoutes(app: Hono, opts: AdminApiOptions): void {
  if (opts.adminTokenSha256.length === 0) return;
  const { admin, logger } = opts;
  const now = (): number => Math.floor(opts.clock() / 1000);

  /** The admin token's id, or throws 401/403. */
  const authorize = (c: Context): string => {
    const authorization = c.req.header('authorization');
    const admitted = matchingTokenSha256(authorization, opts.adminTokenSha256);
    if (admitted !== null) return tokenId(admitted);
    if (matchingTokenSha256(authorization, opts.checkTokenSha256) !== null) {
      throw new ApiError(403, 'forbidden', 'this is a check token; the admin routes take an admin token (--admin-token-sha256)');
    }
    c.header('WWW-Authenticate', 'Bearer');
    throw new ApiError(401, 'unauthorized', 'missing or wrong admin bearer token');
  };
  // The token id of each admitted request, for the change log lines.
  const admitted = new WeakMap<Request, string>();
  for (const path of ADMIN_PATHS) {
    app.use(path, async (c, next) => {
      admitted.set(c.req.raw, authorize(c));
      await next();
    });
  }
  for (const path of ['/v1/explain', '/v1/allow', '/v1/release']) app.post(path, limitBody);
  const who = (c: Context): string => `token:${admitted.get(c.req.raw) ?? 'unknown'}`;

  app.post('/v1/explain', async (c) => {
    return c.json(explanationBody(await explain(opts.explainDeps, checkBodyToRequest(await readJson(c)))));
  });

  app.get('/v1/allow', async (c) => c.json(await listAllowEntries(admin, now())));
  app.post('/v1/allow', async (c) => {
    const body = parseBody(allowAddBody, await readJson(c));
    const at = now();
    const by = who(c);
    const added = await addAllowEntry(
      admin,
      {
        kind: body.kind,
        value: body.value,
        expiresAt: body.expires === undefined ? null : (() => {
          try {
            return parseExpiry(body.expires, at);
          } catch (error) {
            return badInput(error);
          }
        })(),
        comment: body.comment ?? '',
        addedBy: by,
      },
      at,
    ).catch(badInput);
    logger.info(`admin: allow entry added: ${added.entry.id} by ${by}`, { event: 'allow-add', entry: added.entry.id, by });
    opts.changed?.();
    return c.json(added, 201);
  });
  app.delete('/v1/allow', async (c) => {
    const id = c.req.query('id');
    if (id === undefined) throw new ApiError(400, 'missing-field', 'id is required: ?id=KIND:VALUE, as GET /v1/allow lists it', { field: 'id' });
    const result = await removeAllowEntry(admin, id).catch(badInput);
    if (!result.removed) throw new ApiError(404, 'not-found', `no allow entry ${result.id}`);
    const by = who(c);
    logger.info(`admin: allow entry removed: ${result.id} by ${by}`, { event: 'allow-remove', entry: result.id, by });
    opts.changed?.();
    return c.json(result);
  });
  app.all('/v1/allow', methodNotAllowed(['GET', 'POST', 'DELETE']));

  app.get('/v1/pending', async (c) => {
    const limitText = c.req.query('limit') ?? '1000';
    if (!/^\d{1,6}$/.test(limitText) || Number(limitText) === 0) {
      throw new ApiError(400, 'invalid-field', 'limit: give a number of triplets from 1 to 999999', { field: 'limit' });
    }
    const found = await pendingTriplets(admin, now(), selectorFrom((n) => c.req.query(n)), opts.policy, opts.hashKey, Number(limitText)).catch(badInput);
    return c.json(found);
  });

  app.post('/v1/release', async (c) => {
    const body = parseBody(releaseBody, await readJson(c));
    const selector = selectorFrom((n) => body[n as keyof typeof body]);
    const result = await releaseTriplets(admin, now(), selector, opts.policy, opts.hashKey).catch(badInput);
    const by = who(c);
    for (const t of result.released) logger.info(`admin: released: ${t.key} by ${by}: its next attempt passes`, { event: 'release', key: t.key, by });
    return c.json(result);
  });
  app.all('/v1/explain', methodNotAllowed(['POST']));
  app.all('/v1/pending', methodNotAllowed(['GET']));
  app.all('/v1/release', methodNotAllowed(['POST']));
}

function methodNotAllowed(allowed: readonly string[]): (c: Context) => never {
  return (c) => {
    c.header('Allow', allowed.join(', '));
    throw new ApiError(405, 'method-not-allowed', `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(' or ')}`);
  };
}
