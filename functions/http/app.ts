// The HTTP API as a Hono app, built without listening: `serve` mounts it on a Node listener, the
// Lambda wraps it with hono/aws-lambda, tests call `app.request(...)`.
//
//   POST /v1/check   Postfix attributes as JSON → { action, verdict, reason, retry_after_seconds?, header? }
//   GET  /healthz    liveness + whether decisions are being stored; no auth, no detail
//
// Another method on one of these paths gets 405 with an Allow header; other paths get 404.

import { Hono, type Context } from 'hono';
import type { Logger } from '../../policy/logger.ts';
import { logDecision } from '../service/decision-log.ts';
import { createBoundedErrorLog } from '../../policy/bounded-error-log.ts';
import type { StoreHealth } from '../service/store-health.ts';
import { decisionBody } from './decision-body.ts';
import type { DecisionService } from '../service/decision-service.ts';
import { StoreError, StoreUnavailableError } from '../store/store-port.ts';
import { ApiError } from './api-error.ts';
import { isAuthorized } from './bearer-auth.ts';
import { checkBodyToRequest } from './check-request.ts';
import { limitBody, readJson } from './json-body.ts';
import { ADMIN_PATHS, type AdminApiOptions } from './admin-api.ts';
import type { StatusSource } from '../stats/status-source.ts';


export interface AppOptions {
  service: DecisionService;
  logger: Logger;
  /** Resolves when the store answers; used by /healthz. */
  ping: () => Promise<void>;
  /** Whether recent decisions could be stored (the tracker the decision service reports to). */
  storeHealth?: Pick<StoreHealth, 'healthy'>;
  /** SHA-256 hex digests of accepted bearer tokens. Empty: no authentication (loopback serve only). */
  tokenSha256?: readonly string[];
  /** The Lambda passes true: a missing token configuration must not mean an open API. */
  requireAuth?: boolean;
  /** The admin routes (admin-routes.ts); mounted only with admin tokens, else they answer 404. */
  admin?: Omit<AdminApiOptions, 'checkTokenSha256' | 'logger'>;
  /** Prometheus exposition for GET /metrics (functions/stats/prometheus-metrics.ts); absent: no route. */
  metrics?: () => Promise<{ body: string; contentType: string }>;
  /** The status page at GET /ui (status-page.ts), from the stored statistics; absent: no route. */
  status?: { source: StatusSource; version: string };
}

export function createApp(options: AppOptions): Hono {
  const { service, logger, ping, storeHealth } = options;
  const tokens = options.tokenSha256 ?? [];
  const app = new Hono();
  // A store that fails every decision would otherwise log every request; its state change is
  // logged once by the health tracker.
  const logFailure = createBoundedErrorLog(logger, { what: 'failed request(s)', linesPerWindow: 10, windowMs: 60_000 });

  const onError = (err: Error, c: Context): Response => {
    if (err instanceof ApiError) return c.json(err.toBody(), err.status);
    if (err instanceof StoreUnavailableError) {
      logFailure(`store unavailable: ${err.message}`, { code: err.code });
      return c.json(new ApiError(503, 'store-unavailable', 'the greylist store is unavailable; retry later').toBody(), 503);
    }
    const code = err instanceof StoreError ? err.code : 'internal';
    logFailure(`internal error answering ${c.req.method} ${c.req.path}: ${err.message}`, { code });
    return c.json(new ApiError(500, 'internal', 'internal error').toBody(), 500);
  };
  const notFound = (c: Context): Response => c.json(new ApiError(404, 'not-found', `no route ${c.req.method} ${c.req.path}`).toBody(), 404);
  app.onError(onError);
  app.notFound(notFound);

  app.get('/healthz', async (c) => {
    if (storeHealth?.healthy() === false) return c.json({ status: 'unavailable' }, 503);
    try {
      await ping();
      return c.json({ status: 'ok' });
    } catch {
      return c.json({ status: 'unavailable' }, 503);
    }
  });
  // Hono answers HEAD with the GET route.
  app.all('/healthz', methodNotAllowed(['GET', 'HEAD']));
  // The API's OpenAPI 3.1 document (openapi.ts), open like /healthz; loaded on first use.
  app.get('/openapi.json', async (c) => c.json((await import('./openapi.ts')).openApiDocument()));

  const authorize = async (c: Context, next: () => Promise<void>): Promise<void> => {
    if (tokens.length > 0 || options.requireAuth) {
      if (!isAuthorized(c.req.header('authorization'), tokens)) {
        c.header('WWW-Authenticate', 'Bearer');
        throw new ApiError(401, 'unauthorized', 'missing or wrong bearer token');
      }
    }
    await next();
  };
  app.use('/v1/*', async (c, next) => {
    // The admin routes check admin tokens themselves (a check token gets 403 there), or are absent (404).
    if ((ADMIN_PATHS as readonly string[]).includes(c.req.path)) return next();
    return authorize(c, next);
  });

  const metrics = options.metrics;
  if (metrics) {
    // The same rule as the API: what it counts tells an outsider about the mail flow.
    app.get('/metrics', authorize, async (c) => {
      const { body, contentType } = await metrics();
      return c.body(body, 200, { 'content-type': contentType });
    });
    app.all('/metrics', methodNotAllowed(['GET', 'HEAD']));
  }

  const status = options.status;
  if (status) {
    app.get('/ui', authorize, async (c) => {
      // Loaded on first use: the page's code is no part of a decision.
      const { renderStatusPage, STATUS_PAGE_CSP, STATUS_RANGES } = await import('./status-page.ts');
      const key = c.req.query('range') ?? '24h';
      const range = STATUS_RANGES[key];
      if (range === undefined) {
        throw new ApiError(400, 'invalid-field', `range "${key}" is not one of ${Object.keys(STATUS_RANGES).join(', ')}`, { field: 'range' });
      }
      const page = renderStatusPage(await status.source(range), key, status.version);
      return c.html(page, 200, { 'content-security-policy': STATUS_PAGE_CSP, 'cache-control': 'no-store' });
    });
    app.all('/ui', methodNotAllowed(['GET', 'HEAD']));
  }

  app.post('/v1/check', limitBody, async (c) => {
    const request = checkBodyToRequest(await readJson(c, 'the attributes'));
    const decision = await service.check(request);
    logDecision(logger, request, decision);
    return c.json(decisionBody(decision));
  });
  app.all('/v1/check', methodNotAllowed(['POST']));

  const admin = options.admin;
  if (admin) {
    // Loaded on the first admin request (admin-api.ts): a cold start that only checks triplets
    // reads neither their handlers nor their validation schemas (zod). Same errors as here.
    let routes: Promise<Hono> | undefined;
    const loadRoutes = (): Promise<Hono> =>
      (routes ??= import('./admin-routes.ts').then(
        ({ mountAdminRoutes }) => {
          const sub = new Hono();
          sub.onError(onError);
          sub.notFound(notFound);
          mountAdminRoutes(sub, { ...admin, checkTokenSha256: tokens, logger });
          return sub;
        },
        (err: unknown) => {
          routes = undefined;
          throw err;
        },
      ));
    for (const path of ADMIN_PATHS) app.all(path, async (c) => (await loadRoutes()).fetch(c.req.raw, c.env));
  }

  return app;
}

/** The handler for the other methods of a known path: 405, naming the ones it takes. */
function methodNotAllowed(allowed: readonly string[]): (c: Context) => never {
  return (c) => {
    c.header('Allow', allowed.join(', '));
    throw new ApiError(405, 'method-not-allowed', `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(' or ')}`);
  };
}
