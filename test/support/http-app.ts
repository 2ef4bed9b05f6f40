// The HTTP API as `createApp` builds it, with stand-ins around it: a fake decision service that
// records what it was asked, a logger that records what was logged, and a store ping the test can
// make fail. Requests go through `app.request`, with no listener; serve's and the Lambda's own
// tests check that their real store, tokens and adapters reach this same app.

import type { Hono } from 'hono';
import { createApp } from '../../functions/http/app.ts';
import { sha256Hex } from '../../functions/http/bearer-auth.ts';
import type { StoreHealth } from '../../functions/service/store-health.ts';
import { fakeDecisionService, type FakeDecisionService } from './fake-decision-service.ts';
import { RecordingLogger } from './serve-harness.ts';

export interface AppUnderTest {
  app: Hono;
  service: FakeDecisionService;
  logger: RecordingLogger;
  /** Makes /healthz's store ping reject with this error (null: answer again). */
  failPing(err: Error | null): void;
  /** POSTs `body` to /v1/check as JSON (a string is sent as is) and reads the JSON answer. */
  check(body: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }>;
}

export interface AppUnderTestOptions {
  /** Tokens in clear; the app is given their SHA-256 digests, as both runtimes configure it. */
  tokens?: readonly string[];
  requireAuth?: boolean;
  /** The store health tracker /healthz reads, as serve and the Lambda pass it. */
  storeHealth?: Pick<StoreHealth, 'healthy'>;
}

export function appUnderTest(options: AppUnderTestOptions = {}): AppUnderTest {
  const service = fakeDecisionService();
  const logger = new RecordingLogger();
  let pingError: Error | null = null;
  const app = createApp({
    service,
    logger,
    ping: async () => {
      if (pingError !== null) throw pingError;
    },
    tokenSha256: (options.tokens ?? []).map(sha256Hex),
    ...(options.requireAuth === undefined ? {} : { requireAuth: options.requireAuth }),
    ...(options.storeHealth === undefined ? {} : { storeHealth: options.storeHealth }),
  });
  return {
    app,
    service,
    logger,
    failPing(err) {
      pingError = err;
    },
    async check(body, headers = {}) {
      const res = await app.request('/v1/check', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
    },
  };
}
