// What POST /v1/check refuses, and how: a 4xx naming the field to fix for a bad request, 503 when
// the store cannot be reached (retry later), 500 without detail for anything else. A refused
// request never reaches the decision service, so it stores nothing.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreError, StoreUnavailableError } from '../../functions/store/store-port.ts';
import { appUnderTest } from '../support/http-app.ts';

const MINIMAL = { client_address: '192.0.2.1', sender: 'a@b.example', recipient: 'c@d.example' };

function manyAttributes(count: number): Record<string, string> {
  const body: Record<string, string> = { ...MINIMAL };
  for (let i = 0; Object.keys(body).length < count; i += 1) body[`extra_${i}`] = 'x';
  return body;
}

describe('POST /v1/check: bad requests', () => {
  it.each([
    ['invalid JSON', '{"client_address":', 'invalid-json', undefined],
    ['a JSON array', '[1,2]', 'invalid-json', undefined],
    ['JSON null', 'null', 'invalid-json', undefined],
    ['a JSON string', '"client_address=192.0.2.1"', 'invalid-json', undefined],
    ['a non-IP client address', { ...MINIMAL, client_address: 'mail.example' }, 'invalid-field', 'client_address'],
    ['an empty client address', { ...MINIMAL, client_address: '' }, 'invalid-field', 'client_address'],
    ['a missing client address', { sender: '', recipient: 'c@d.example' }, 'missing-field', 'client_address'],
    ['a missing sender', { client_address: '192.0.2.1', recipient: 'c@d.example' }, 'missing-field', 'sender'],
    ['a missing recipient', { client_address: '192.0.2.1', sender: '' }, 'missing-field', 'recipient'],
    ['a number as sender', { ...MINIMAL, sender: 5 }, 'invalid-field', 'sender'],
    ['an object as recipient', { ...MINIMAL, recipient: { local: 'c' } }, 'invalid-field', 'recipient'],
    ['a fractional policy_test_time', { ...MINIMAL, policy_test_time: 1.5 }, 'invalid-field', 'policy_test_time'],
    ['a 600-character recipient', { ...MINIMAL, recipient: `${'r'.repeat(600)}@d.example` }, 'invalid-field', 'recipient'],
    ['a 10,000-character recipient', { ...MINIMAL, recipient: `${'r'.repeat(10_000)}@d.example` }, 'invalid-field', 'recipient'],
    ['a control character in the sender', { ...MINIMAL, sender: 'a\r\n@b.example' }, 'invalid-field', 'sender'],
    ['a key that is not a Postfix attribute name', { ...MINIMAL, 'Client-Name': 'mx.b.example' }, 'invalid-field', 'Client-Name'],
    ['101 attributes', manyAttributes(101), 'invalid-field', undefined],
  ])('refuses %s with 400, naming the field, and asks the service nothing', async (_what, body, code, field) => {
    // Prepare
    const t = appUnderTest();

    // Act
    const res = await t.check(body);

    // Assess
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code, message: expect.any(String), ...(field ? { field } : {}) } });
    expect(t.service.requests).toEqual([]);
  });

  it('says what is wrong in the message', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    const notJson = await t.check('{"client_address": "192.0.2.1",');
    const notIp = await t.check({ ...MINIMAL, client_address: 'mail.example.net' });
    const missing = await t.check({ client_address: '192.0.2.1', sender: '' });

    // Assess
    expect(notJson.json).toEqual({ error: { code: 'invalid-json', message: 'the body is not valid JSON' } });
    expect(notIp.json).toEqual({
      error: {
        code: 'invalid-field',
        message: 'attribute client_address "mail.example.net" is not an IPv4 or IPv6 address',
        field: 'client_address',
      },
    });
    expect(missing.json).toEqual({ error: { code: 'missing-field', message: 'recipient is required', field: 'recipient' } });
  });

  it('refuses a 1 MB body with 413 from its Content-Length, without reading it', async () => {
    // Prepare: the Node listener and the Lambda adapter both pass the body's length on
    const t = appUnderTest();
    const body = JSON.stringify({ ...MINIMAL, sender: 'x'.repeat(1024 * 1024) });

    // Act
    const res = await t.check(body, { 'content-length': String(body.length) });

    // Assess
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ error: { code: 'body-too-large', message: 'the body is larger than 65536 bytes' } });
    expect(t.service.requests).toEqual([]);
  });

  it('refuses a Content-Length that is not a plain number with 413', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    const res = await t.check(MINIMAL, { 'content-length': '1e3' });

    // Assess
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ error: { code: 'body-too-large' } });
  });

  it('refuses a 1 MB body sent without a length (chunked) with 413, reading no further than past the limit', async () => {
    // Prepare: 16 chunks of a little over 64 KiB each
    const t = appUnderTest();
    const chunk = new TextEncoder().encode(`{"sender":"${'x'.repeat(64 * 1024)}`);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 16) return controller.close();
        pulled += 1;
        controller.enqueue(chunk);
      },
    });

    // Act
    const res = await t.app.request('/v1/check', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });

    // Assess: the first chunk is already over the limit; at most one more was read ahead
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'body-too-large' } });
    expect(pulled).toBeLessThanOrEqual(2);
    expect(t.service.requests).toEqual([]);
  });

  it.each([
    ['no content type', undefined],
    ['text/plain', 'text/plain;charset=UTF-8'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['a look-alike of JSON', 'application/jsonp'],
  ])('refuses a body with %s with 415', async (_what, type) => {
    // Prepare
    const t = appUnderTest();

    // Act
    const res = await t.app.request('/v1/check', {
      method: 'POST',
      ...(type === undefined ? {} : { headers: { 'content-type': type } }),
      body: new TextEncoder().encode(JSON.stringify(MINIMAL)),
    });

    // Assess
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({
      error: { code: 'unsupported-media-type', message: 'send the attributes as JSON with content-type: application/json' },
    });
    expect(t.service.requests).toEqual([]);
  });
});

describe('POST /v1/check: failures behind the API', () => {
  it('answers 503 when the store is unavailable, so that callers retry, and logs why', async () => {
    // Prepare
    const t = appUnderTest();
    t.service.fail(new StoreUnavailableError('DynamoDB did not answer within 3000 ms'));

    // Act
    const res = await t.check(MINIMAL);

    // Assess
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: { code: 'store-unavailable', message: 'the greylist store is unavailable; retry later' } });
    expect(t.logger.lines).toEqual([
      { level: 'error', msg: 'store unavailable: DynamoDB did not answer within 3000 ms', fields: { code: 'store-unavailable' } },
    ]);
  });

  it('answers 500 without detail to any other failure, and logs it with the store\'s code', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    t.service.fail(new Error('secret detail'));
    const unexpected = await t.check(MINIMAL);
    t.service.fail(new StoreError('the database file is malformed', { code: 'store-corrupt' }));
    const corrupt = await t.check(MINIMAL);

    // Assess
    for (const res of [unexpected, corrupt]) {
      expect(res.status).toBe(500);
      expect(res.json).toEqual({ error: { code: 'internal', message: 'internal error' } });
    }
    expect(t.logger.lines).toEqual([
      { level: 'error', msg: 'internal error answering POST /v1/check: secret detail', fields: { code: 'internal' } },
      { level: 'error', msg: 'internal error answering POST /v1/check: the database file is malformed', fields: { code: 'store-corrupt' } },
    ]);
  });
});

describe('POST /v1/check: a store that fails every request', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs at most 10 of the failures a minute, then how many it left out', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'] });
    const t = appUnderTest();
    t.service.fail(new StoreUnavailableError('the database could not be written (SQLITE_FULL)'));

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 100; i += 1) statuses.push((await t.check(MINIMAL)).status);
    const withinMinute = t.logger.messages('error').length;
    vi.setSystemTime(Date.now() + 60_000);
    await t.check(MINIMAL);

    // Assess: every request still gets its 503
    expect(statuses.every((s) => s === 503)).toBe(true);
    expect(withinMinute).toBe(10);
    expect(t.logger.messages('error').slice(10)).toEqual([
      '90 more failed request(s) were not logged (at most 10 lines per 60 s)',
      'store unavailable: the database could not be written (SQLITE_FULL)',
    ]);
  });
});

describe('other routes and methods', () => {
  it.each([
    ['GET', '/'],
    ['GET', '/v1/nope'],
    ['POST', '/v1/checks'],
    ['GET', '/healthz/x'],
  ])('answers %s %s with 404 JSON naming the route', async (method, path) => {
    // Prepare
    const t = appUnderTest();

    // Act
    const res = await t.app.request(path, { method });

    // Assess
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not-found', message: `no route ${method} ${path}` } });
    expect(t.service.requests).toEqual([]);
  });

  it.each([
    ['GET', '/v1/check', 'POST', 'use POST'],
    ['PUT', '/v1/check', 'POST', 'use POST'],
    ['DELETE', '/v1/check', 'POST', 'use POST'],
    ['OPTIONS', '/v1/check', 'POST', 'use POST'],
    ['POST', '/healthz', 'GET, HEAD', 'use GET or HEAD'],
    ['PUT', '/healthz', 'GET, HEAD', 'use GET or HEAD'],
  ])('answers %s %s with 405, Allow: %s and JSON naming the method to use', async (method, path, allow, use) => {
    // Prepare
    const t = appUnderTest();

    // Act
    const res = await t.app.request(path, { method });

    // Assess
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(await res.json()).toEqual({
      error: { code: 'method-not-allowed', message: `${method} is not allowed on ${path}; ${use}` },
    });
    expect(t.service.requests).toEqual([]);
  });

  it('answers HEAD /healthz as GET, without a body, and HEAD /v1/check with 405', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    const health = await t.app.request('/healthz', { method: 'HEAD' });
    const check = await t.app.request('/v1/check', { method: 'HEAD' });

    // Assess
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');
    expect(check.status).toBe(405);
    expect(check.headers.get('allow')).toBe('POST');
  });

  it('asks for the token before it says which method a /v1 route takes', async () => {
    // Prepare
    const t = appUnderTest({ tokens: ['test-token-1f3a9c'], requireAuth: true });

    // Act
    const res = await t.app.request('/v1/check', { method: 'GET' });

    // Assess
    expect(res.status).toBe(401);
    expect(res.headers.get('allow')).toBeNull();
  });
});
