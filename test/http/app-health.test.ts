// GET /healthz as a load balancer or monitor polls it: 200 while the store answers its ping and
// decisions are being stored, 503 when either is not so, and never a detail about the deployment or
// the failure.

import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../functions/store/store-port.ts';
import { appUnderTest } from '../support/http-app.ts';

describe('GET /healthz', () => {
  it('answers 200 {"status":"ok"} while the store answers', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    const res = await t.app.request('/healthz');

    // Assess
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers 503 {"status":"unavailable"} when the store does not, without saying why', async () => {
    // Prepare
    const t = appUnderTest();
    t.failPing(new StoreUnavailableError('connect ECONNREFUSED 10.0.0.5:443 (table greygate-prod)'));

    // Act
    const down = await t.app.request('/healthz');
    t.failPing(null);
    const back = await t.app.request('/healthz');

    // Assess
    expect(down.status).toBe(503);
    expect(await down.text()).toBe('{"status":"unavailable"}');
    expect(back.status).toBe(200);
  });

  it('answers 503 while decisions cannot be stored, though the store answers its ping, and 200 once they can', async () => {
    // Prepare: the tracker the decision service reports to
    let stored = false;
    const t = appUnderTest({ storeHealth: { healthy: () => stored } });

    // Act
    const down = await t.app.request('/healthz');
    stored = true;
    const back = await t.app.request('/healthz');

    // Assess
    expect(down.status).toBe(503);
    expect(await down.text()).toBe('{"status":"unavailable"}');
    expect(back.status).toBe(200);
    expect(await back.json()).toEqual({ status: 'ok' });
  });

  it('is open even where /v1/* requires a token', async () => {
    // Prepare
    const t = appUnderTest({ tokens: ['test-token-1f3a9c'], requireAuth: true });

    // Act
    const res = await t.app.request('/healthz');

    // Assess
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});
