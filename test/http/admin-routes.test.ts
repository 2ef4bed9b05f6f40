// The admin routes over real HTTP on `greygate serve` (SQLite file), and on the Lambda handler
// (DynamoDB on dynalite): admin tokens only (401 without, 403 with a check token), off without an
// admin token (404), bad input named by field with nothing written, changes logged with the
// token's id and never the token.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseServeConfig } from '../../functions/config/serve-config.ts';
import { sha256Hex } from '../../functions/http/bearer-auth.ts';
import { createLambdaHandler, openLambdaStore } from '../../functions/runtime/lambda.ts';
import { startServe, type RunningServe } from '../../functions/runtime/serve.ts';
import { createTable } from '../../functions/store/dynamodb-table.ts';
import { functionUrlEvent } from '../support/function-url-event.ts';
import { RecordingLogger } from '../support/serve-harness.ts';
import { startDynalite, type RunningDynalite } from '../support/dynalite.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const CHECK_TOKEN = 'check-token-7d1e';
const ADMIN_TOKEN = 'admin-token-93ab';
const OLD_ADMIN_TOKEN = 'admin-token-old';
const T0 = 1_800_000_000;
const REQ = { client_address: '203.0.113.9', client_name: 'unknown', sender: 'reset@bank.example', recipient: 'user@example.org' };

interface Serve {
  serve: RunningServe;
  logger: RecordingLogger;
  dbdir: string;
  call(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<{ status: number; body: Record<string, unknown> }>;
}

let tmp: TempDir | undefined;
let running: RunningServe | undefined;
afterEach(async () => {
  await running?.close({ drainTimeoutMs: 0 });
  running = undefined;
  await tmp?.cleanup();
});

async function startWith(args: string[], clock: { ms: number }): Promise<Serve> {
  tmp = await makeTempDir();
  const dbdir = join(tmp.path, 'db');
  const { config } = parseServeConfig([
    '--dbdir', dbdir, '--inet', '127.0.0.1:0', '--http', '127.0.0.1:0', '--hostname', 'mx.test',
    '--whitelist-clients', '/dev/null', '--whitelist-recipients', '/dev/null', '--token-sha256', sha256Hex(CHECK_TOKEN), ...args,
  ]);
  const logger = new RecordingLogger();
  const serve = await startServe(config, { logger, env: {}, clock: () => clock.ms });
  running = serve;
  const http = serve.httpAddress();
  return {
    serve,
    logger,
    dbdir,
    async call(method, path, opts = {}) {
      const res = await fetch(`http://${http?.host}:${http?.port}${path}`, {
        method,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
  };
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('-shm')) out[name] = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
  }
  return out;
}

const ADMIN_ROUTES: Array<[string, string, unknown?]> = [
  ['POST', '/v1/explain', REQ],
  ['GET', '/v1/allow'],
  ['POST', '/v1/allow', { kind: 'client', value: '192.0.2.1' }],
  ['DELETE', '/v1/allow?id=client:192.0.2.1'],
  ['GET', '/v1/pending'],
  ['POST', '/v1/release', { client: '192.0.2.1' }],
];

describe('admin routes on serve', () => {
  it('are off (404) without an admin token, whatever token is sent', async () => {
    const s = await startWith([], { ms: T0 * 1000 });
    for (const [method, path, body] of ADMIN_ROUTES) {
      for (const token of [undefined, CHECK_TOKEN, ADMIN_TOKEN]) {
        const res = await s.call(method, path, { ...(token ? { token } : {}), ...(body === undefined ? {} : { body }) });
        expect(res.status, `${method} ${path} ${token ?? 'no token'}`).toBe(404);
      }
    }
    expect((await s.call('POST', '/v1/check', { token: CHECK_TOKEN, body: REQ })).status).toBe(200);
  });

  it('take admin tokens only: none or a wrong one 401, a check token 403', async () => {
    const s = await startWith(['--admin-token-sha256', sha256Hex(OLD_ADMIN_TOKEN), '--admin-token-sha256', sha256Hex(ADMIN_TOKEN)], { ms: T0 * 1000 });
    for (const [method, path, body] of ADMIN_ROUTES) {
      const withBody = body === undefined ? {} : { body };
      expect((await s.call(method, path, withBody)).status, `${method} ${path}`).toBe(401);
      expect((await s.call(method, path, { token: 'nope', ...withBody })).status).toBe(401);
      const forbidden = await s.call(method, path, { token: CHECK_TOKEN, ...withBody });
      expect(forbidden.status, `${method} ${path}`).toBe(403);
      expect(forbidden.body).toMatchObject({ error: { code: 'forbidden' } });
    }
    // The admin token is no check token either.
    expect((await s.call('POST', '/v1/check', { token: ADMIN_TOKEN, body: REQ })).status).toBe(401);
    expect((await s.call('GET', '/v1/allow', { token: OLD_ADMIN_TOKEN })).status).toBe(200);
    // Nothing above changed anything.
    expect(((await s.call('GET', '/v1/allow', { token: ADMIN_TOKEN })).body.entries as unknown[]).length).toBe(0);
  });

  it('add, list, remove allow entries; in force on this instance at once; logged with the token id', async () => {
    const clock = { ms: T0 * 1000 };
    const s = await startWith(['--admin-token-sha256', sha256Hex(ADMIN_TOKEN)], clock);
    expect((await s.call('POST', '/v1/check', { token: CHECK_TOKEN, body: REQ })).body.reason).toBe('new');
    const added = await s.call('POST', '/v1/allow', { token: ADMIN_TOKEN, body: { kind: 'client', value: '203.0.113.0/24', expires: '2d', comment: 'bank' } });
    expect(added.status).toBe(201);
    const id = sha256Hex(ADMIN_TOKEN).slice(0, 12);
    expect(added.body).toMatchObject({ entry: { id: 'client:203.0.113.0/24', addedBy: `token:${id}`, expiresAt: T0 + 2 * 86_400, comment: 'bank' } });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the refresh the change started
    expect((await s.call('POST', '/v1/check', { token: CHECK_TOKEN, body: REQ })).body).toMatchObject({ reason: 'allow-entry' });

    const listed = await s.call('GET', '/v1/allow', { token: ADMIN_TOKEN });
    expect(listed.body).toMatchObject({ entries: [{ id: 'client:203.0.113.0/24', live: true }] });
    expect((await s.call('DELETE', '/v1/allow?id=client:203.0.113.0/24', { token: ADMIN_TOKEN })).status).toBe(200);
    expect((await s.call('DELETE', '/v1/allow?id=client:203.0.113.0/24', { token: ADMIN_TOKEN })).status).toBe(404);

    const lines = s.logger.messages();
    expect(lines).toContain(`admin: allow entry added: client:203.0.113.0/24 by token:${id}`);
    expect(lines).toContain(`admin: allow entry removed: client:203.0.113.0/24 by token:${id}`);
    expect(JSON.stringify(s.logger.lines)).not.toContain(ADMIN_TOKEN);
  });

  it('refuses bad input naming the field, and writes nothing', async () => {
    const s = await startWith(['--admin-token-sha256', sha256Hex(ADMIN_TOKEN)], { ms: T0 * 1000 });
    await s.call('POST', '/v1/check', { token: CHECK_TOKEN, body: REQ });
    await s.serve.close({ drainTimeoutMs: 0 });
    running = undefined;
    const before = snapshot(s.dbdir);
    const again = await startWith(['--dbdir', s.dbdir, '--admin-token-sha256', sha256Hex(ADMIN_TOKEN)], { ms: T0 * 1000 });
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/v1/allow', { kind: 'ip', value: '192.0.2.1' }, 'kind'],
      ['POST', '/v1/allow', { kind: 'client', value: '192.0.2.300' }, 'value'],
      ['POST', '/v1/allow', { kind: 'client', value: '192.0.2.1', expires: 'soon' }, 'expires'],
      ['POST', '/v1/allow', { kind: 'client', value: '192.0.2.1', comment: 'a\nb' }, 'comment'],
      ['POST', '/v1/allow', { kind: 'client', value: '192.0.2.1', who: 'me' }, 'who'],
      ['POST', '/v1/explain', { ...REQ, client_address: '300.1.1.1' }, 'client_address'],
      ['POST', '/v1/explain', { client_address: '192.0.2.1', sender: '' }, 'recipient'],
      ['POST', '/v1/release', {}, 'client'],
      ['POST', '/v1/release', { client: 'not a client' }, 'client'],
      ['POST', '/v1/release', { recipients: 'x@y.example' }, 'recipients'],
      ['GET', '/v1/pending?client=%20', undefined, 'client'],
      ['GET', '/v1/pending?limit=0', undefined, 'limit'],
      ['DELETE', '/v1/allow', undefined, 'id'],
      ['DELETE', '/v1/allow?id=nokind', undefined, 'id'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await again.call(method, path, { token: ADMIN_TOKEN, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body, `${method} ${path} ${JSON.stringify(body)}`).toMatchObject({ error: { field } });
    }
    // Too large, not JSON, another method: the check route's answers.
    const huge = await again.call('POST', '/v1/allow', { token: ADMIN_TOKEN, body: { kind: 'client', value: '192.0.2.1', comment: 'x'.repeat(70_000) } });
    expect(huge.status).toBe(413);
    expect((await again.call('PUT', '/v1/allow', { token: ADMIN_TOKEN, body: {} })).status).toBe(405);
    await again.serve.close({ drainTimeoutMs: 0 });
    running = undefined;
    expect(snapshot(s.dbdir)).toEqual(before);
  });

  it('explain answers as the check that follows, without writing; pending and release', async () => {
    const clock = { ms: T0 * 1000 };
    const s = await startWith(['--admin-token-sha256', sha256Hex(ADMIN_TOKEN)], clock);
    const other = { ...REQ, client_address: '198.51.100.3', sender: 'b@shop.example' };
    await s.call('POST', '/v1/check', { token: CHECK_TOKEN, body: REQ });
    await s.call('POST', '/v1/check', { token: CHECK_TOKEN, body: other });
    clock.ms += 20_000;

    const explained = await s.call('POST', '/v1/explain', { token: ADMIN_TOKEN, body: REQ });
    expect(explained.body).toMatchObject({ verdict: 'greylist', reason: 'early-retry', retry_after_seconds: 280, written: false });
    const again = await s.call('POST', '/v1/explain', { token: ADMIN_TOKEN, body: REQ });
    expect(again.body.records).toEqual(explained.body.records); // the first explain wrote nothing
    const checked = await s.call('POST', '/v1/check', { token: CHECK_TOKEN, body: REQ });
    expect(checked.body).toMatchObject({ verdict: 'greylist', reason: 'early-retry', retry_after_seconds: 280, action: explained.body.action });

    const pending = await s.call('GET', '/v1/pending?recipient=USER@example.org', { token: ADMIN_TOKEN });
    expect((pending.body.triplets as Array<{ key: string }>).map((t) => t.key)).toEqual([
      '198.51.100.0/b@shop.example/user@example.org',
      '203.0.113.0/reset@bank.example/user@example.org',
    ]);
    const released = await s.call('POST', '/v1/release', { token: ADMIN_TOKEN, body: { client: '203.0.113.9', sender: 'reset@bank.example' } });
    expect(released.body).toMatchObject({ released: [{ key: '203.0.113.0/reset@bank.example/user@example.org' }] });
    expect(s.logger.messages().some((m) => m.startsWith('admin: released: 203.0.113.0/reset@bank.example/user@example.org by token:'))).toBe(true);
    clock.ms += 1_000;
    expect((await s.call('POST', '/v1/check', { token: CHECK_TOKEN, body: REQ })).body).toMatchObject({ verdict: 'pass', reason: 'triplet-found' });
    expect((await s.call('POST', '/v1/check', { token: CHECK_TOKEN, body: other })).body).toMatchObject({ verdict: 'greylist' });
  });
});

describe('admin routes on the Lambda', () => {
  let dynalite: RunningDynalite;
  beforeAll(async () => {
    dynalite = await startDynalite();
    await createTable(dynalite.client(), 'admin-lambda');
  });
  afterAll(async () => {
    await dynalite.stop();
  });

  const env = (extra: Record<string, string> = {}) => ({
    AWS_REGION: 'us-east-1',
    GREYGATE_TABLE: 'admin-lambda',
    GREYGATE_TOKEN_SHA256: sha256Hex(CHECK_TOKEN),
    GREYGATE_PRIVACY: 'false',
    ...extra,
  });
  const event = (method: string, path: string, token: string, body?: unknown) =>
    functionUrlEvent({ method, path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? null : JSON.stringify(body) });

  it('take GREYGATE_ADMIN_TOKEN_SHA256; a check token gets 403; without it the routes are 404', async () => {
    const log = new PassThrough();
    let logged = '';
    log.on('data', (c: Buffer) => (logged += c.toString()));
    const handler = createLambdaHandler(env({ GREYGATE_ADMIN_TOKEN_SHA256: sha256Hex(ADMIN_TOKEN) }), {
      openStore: (config) => openLambdaStore(config, dynalite.client()),
      logStream: log,
      writeMetrics: () => {},
    });
    const added = await handler(event('POST', '/v1/allow', ADMIN_TOKEN, { kind: 'recipient', value: 'helpdesk@example.org' }));
    expect(added.statusCode).toBe(201);
    expect((await handler(event('POST', '/v1/allow', CHECK_TOKEN, { kind: 'recipient', value: 'x@example.org' }))).statusCode).toBe(403);
    const scan = await dynalite.client().send(new ScanCommand({ TableName: 'admin-lambda' }));
    expect(JSON.stringify(scan.Items)).toContain('recipient:helpdesk@example.org');
    expect(JSON.stringify(scan.Items)).not.toContain('x@example.org');
    expect(logged).toContain(`by token:${sha256Hex(ADMIN_TOKEN).slice(0, 12)}`);
    const check = await handler(event('POST', '/v1/check', CHECK_TOKEN, { ...REQ, recipient: 'helpdesk@example.org' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const check2 = await handler(event('POST', '/v1/check', CHECK_TOKEN, { ...REQ, recipient: 'helpdesk@example.org' }));
    expect([JSON.parse(check.body).reason, JSON.parse(check2.body).reason]).toContain('allow-entry');

    const without = createLambdaHandler(env(), { openStore: (config) => openLambdaStore(config, dynalite.client()), logStream: new PassThrough(), writeMetrics: () => {} });
    expect((await without(event('GET', '/v1/allow', CHECK_TOKEN))).statusCode).toBe(404);
    expect((await without(event('GET', '/v1/allow', ADMIN_TOKEN))).statusCode).toBe(404);
  });
});
