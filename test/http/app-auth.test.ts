// Bearer tokens on /v1/*: the API accepts any configured token (so one can be rotated), refuses
// the rest with a Bearer challenge before reading the body, and stays open only where no token is
// configured and none is required (serve on loopback). /healthz asks for none (app-health.test.ts).

import { describe, expect, it } from 'vitest';
import { appUnderTest } from '../support/http-app.ts';

const TOKEN = 'test-token-1f3a9c';
const MINIMAL = { client_address: '192.0.2.1', sender: 'a@b.example', recipient: 'c@d.example' };

describe('/v1/*: bearer tokens', () => {
  it('answers without a token when none is configured or required', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    const res = await t.check(MINIMAL);

    // Assess
    expect(res.status).toBe(200);
  });

  it('answers 401 with a Bearer challenge when the token is missing', async () => {
    // Prepare
    const t = appUnderTest({ tokens: [TOKEN] });

    // Act
    const res = await t.check(MINIMAL);

    // Assess
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.json).toEqual({ error: { code: 'unauthorized', message: 'missing or wrong bearer token' } });
    expect(t.service.requests).toEqual([]);
  });

  it.each([
    ['a wrong token', 'Bearer not-the-token'],
    ['the token under another scheme', `Basic ${TOKEN}`],
    ['the token with no scheme', TOKEN],
    ['the token with trailing text', `Bearer ${TOKEN} extra`],
  ])('answers 401 to %s', async (_what, authorization) => {
    // Prepare
    const t = appUnderTest({ tokens: [TOKEN] });

    // Act
    const res = await t.check(MINIMAL, { authorization });

    // Assess
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'unauthorized' } });
    expect(t.service.requests).toEqual([]);
  });

  it('accepts any of the configured tokens (rotation), whatever the case of "Bearer"', async () => {
    // Prepare
    const t = appUnderTest({ tokens: ['old-token', TOKEN] });

    // Act
    const current = await t.check(MINIMAL, { authorization: `Bearer ${TOKEN}` });
    const previous = await t.check(MINIMAL, { authorization: 'bearer old-token' });

    // Assess
    expect(current.status).toBe(200);
    expect(previous.status).toBe(200);
    expect(t.service.requests).toHaveLength(2);
  });

  it('refuses every token when one is required but none is configured, rather than open the API', async () => {
    // Prepare: the Lambda requires a token always
    const t = appUnderTest({ requireAuth: true });

    // Act
    const res = await t.check(MINIMAL, { authorization: `Bearer ${TOKEN}` });

    // Assess
    expect(res.status).toBe(401);
    expect(t.service.requests).toEqual([]);
  });

  it('checks the token before the body, and before telling which routes exist', async () => {
    // Prepare
    const t = appUnderTest({ tokens: [TOKEN] });
    const big = JSON.stringify({ ...MINIMAL, sender: 'x'.repeat(1024 * 1024) });

    // Act
    const tooLarge = await t.check(big, { 'content-length': String(big.length) });
    const notJson = await t.app.request('/v1/check', { method: 'POST', body: 'client_address=192.0.2.1' });
    const noRoute = await t.app.request('/v1/nope');

    // Assess
    expect([tooLarge.status, notJson.status, noRoute.status]).toEqual([401, 401, 401]);
  });
});
