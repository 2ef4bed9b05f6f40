// The OpenAPI document: served at GET /openapi.json, equal to docs/openapi.json, naming every route
// the app has, and describing /v1/check's body as its validator reads it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { Hono } from 'hono';
import { ADMIN_PATHS, adminApiFor, mountAdminRoutes } from '../../functions/http/admin-routes.ts';
import { DEFAULT_POLICY_CONFIG, EMPTY_WHITELISTS } from '../../functions/core/index.ts';
import { createDecisionService } from '../../functions/service/decision-service.ts';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';
import { makeTempDir } from '../support/temp-dir.ts';
import { createApp } from '../../functions/http/app.ts';
import { checkBodyToAttributes } from '../../functions/http/check-request.ts';
import { checkRequestSchema, openApiText } from '../../functions/http/openapi.ts';
import { silentLogger } from '../../policy/logger.ts';

const root = new URL('../..', import.meta.url).pathname;

function app() {
  return createApp({ service: { check: async () => { throw new Error('not called'); } }, logger: silentLogger, ping: async () => {} });
}

describe('the OpenAPI document', () => {
  it('is served at GET /openapi.json, without a token, equal to docs/openapi.json (npm run docs:openapi)', async () => {
    const res = await app().request('/openapi.json');
    expect(res.status).toBe(200);
    const served = (await res.json()) as Record<string, unknown>;
    const checkedIn = JSON.parse(readFileSync(join(root, 'docs/openapi.json'), 'utf8')) as Record<string, unknown>;
    expect(served).toEqual(checkedIn);
    expect(readFileSync(join(root, 'docs/openapi.json'), 'utf8')).toBe(openApiText());
    expect(served.openapi).toBe('3.1.0');
  });

  it('names every route of the app with the admin routes on, and only those', async () => {
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path, checkpointWorker: false });
    try {
      const deps = { store, config: DEFAULT_POLICY_CONFIG, whitelists: () => EMPTY_WHITELISTS, clock: Date.now };
      const admin = adminApiFor(store, ['a'.repeat(64)], deps);
      const full = createApp({ service: createDecisionService(deps), logger: silentLogger, ping: async () => {}, ...(admin ? { admin } : {}) });
      // The admin routes load on the first admin request, into an app of their own.
      const adminApp = new Hono();
      if (admin) mountAdminRoutes(adminApp, { ...admin, checkTokenSha256: [], logger: silentLogger });
      const routes = [...full.routes, ...adminApp.routes];
      const routed = [...new Set(routes.filter((r) => ['GET', 'POST', 'DELETE'].includes(r.method)).map((r) => `${r.method} ${r.path}`))].sort();
      const doc = JSON.parse(openApiText()) as { paths: Record<string, Record<string, unknown>> };
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
      // The body-size limit is registered per POST path too; the set keeps one of each.
      expect(documented).toEqual(routed);
      for (const path of ADMIN_PATHS) expect(Object.keys(doc.paths)).toContain(path);
    } finally {
      await store.close();
      await dir.cleanup();
    }
  });

  it("describes /v1/check's body as the validator reads it", () => {
    const accepts = (body: unknown): { schema: boolean; validator: boolean } => {
      let validator = true;
      try {
        checkBodyToAttributes(body);
      } catch {
        validator = false;
      }
      return { schema: z.safeParse(checkRequestSchema, body).success, validator };
    };
    const bodies: unknown[] = [
      { client_address: '192.0.2.1', sender: '', recipient: 'b@example.org' },
      { client_address: '192.0.2.1', sender: 'a@example.net', recipient: 'b@example.org', client_name: 'mx.example.net', helo_name: 'mx' },
      { client_address: '192.0.2.1', sender: 'a@example.net', recipient: 'b@example.org', policy_test_time: 1_800_000_000 },
      { client_address: '192.0.2.1', sender: 'a@example.net', recipient: 'b@example.org', x_custom: 'kept out of the decision' },
      { client_address: '192.0.2.1', sender: 'a@example.net' },
      { sender: 'a@example.net', recipient: 'b@example.org' },
      { client_address: '192.0.2.1', sender: 'a@example.net', recipient: 'x'.repeat(513) },
      { client_address: '192.0.2.1', sender: 'a@example.net', recipient: 'b@example.org', helo_name: 7 },
      { client_address: '192.0.2.1', sender: 'a@example.net', recipient: 'b@example.org', instance: 'y'.repeat(600) },
    ];
    for (const body of bodies) {
      const { schema, validator } = accepts(body);
      expect(schema, JSON.stringify(body).slice(0, 120)).toBe(validator);
    }
  });
});
