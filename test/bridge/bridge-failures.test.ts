// What Postfix sees through the bridge when the API misbehaves: down, hanging, 500, garbage, a
// bad request, a wrong token. Every request must be answered (the --on-error action) within the
// timeout plus a little, the log must say which request failed and why, and the bridge must keep
// serving once the API is back.

import { afterEach, describe, expect, it } from 'vitest';
import { closeTestBridges, PASS_REPLY, startFakeApi, startTestBridge, type FakeApi, type FakeReply } from '../support/fake-api.ts';
import { examplePolicyRequest, PolicyClient } from '../support/policy-client.ts';

const TIMEOUT_MS = 300;
/** The bound the bridge promises Postfix: its budget, plus scheduling slack on a busy machine. */
const ANSWER_BOUND_MS = TIMEOUT_MS + 100;
const DEFER = 'DEFER_IF_PERMIT 4.3.0 greylisting service unavailable, please retry later';

const apis: FakeApi[] = [];
afterEach(async () => {
  await closeTestBridges();
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

async function fakeApi(): Promise<FakeApi> {
  const api = await startFakeApi();
  apis.push(api);
  return api;
}

/** Sends one request per recipient on one connection, one at a time as smtpd does, timing each. */
async function askTimed(address: string, recipients: string[]): Promise<Array<{ answer: string; ms: number }>> {
  const client = await PolicyClient.connect(address);
  try {
    const out: Array<{ answer: string; ms: number }> = [];
    for (const recipient of recipients) {
      const t0 = performance.now();
      const answer = await client.request(examplePolicyRequest({ recipient, queue_id: `Q${recipient.slice(0, 1)}` }));
      out.push({ answer, ms: performance.now() - t0 });
    }
    return out;
  } finally {
    await client.close();
  }
}

const BROKEN: Array<{ name: string; failure: string; breakIt: (api: FakeApi) => Promise<void> | void }> = [
  { name: 'is down (connection refused)', failure: 'connection', breakIt: (api) => api.down() },
  { name: 'hangs', failure: 'timeout', breakIt: (api) => api.respond(() => ({ kind: 'hang' })) },
  {
    name: 'answers 500',
    failure: 'server-error',
    breakIt: (api) => api.respond(() => ({ kind: 'json', status: 500, body: { error: { code: 'internal', message: 'internal error' } } })),
  },
  { name: 'answers 503 without a body', failure: 'server-error', breakIt: (api) => api.respond(() => ({ kind: 'raw', status: 503, text: '' })) },
  { name: 'answers garbage', failure: 'invalid-answer', breakIt: (api) => api.respond(() => ({ kind: 'raw', text: '\u0000\u00ff<html>oops' })) },
  { name: 'answers JSON without an action', failure: 'invalid-answer', breakIt: (api) => api.respond(() => ({ kind: 'json', body: { verdict: 'pass' } })) },
  { name: 'answers a 301 redirect', failure: 'invalid-answer', breakIt: (api) => api.respond(() => ({ kind: 'raw', status: 301, text: '' })) },
];

describe('greygate-bridge when the API fails', () => {
  for (const onError of ['dunno', 'defer'] as const) {
    const expected = onError === 'dunno' ? 'DUNNO' : DEFER;
    for (const broken of BROKEN) {
      it(`answers ${onError === 'dunno' ? 'DUNNO' : 'the defer action'} within the timeout when the API ${broken.name} (--on-error ${onError})`, async () => {
        // Prepare
        const api = await fakeApi();
        const { address, bridge, logs } = await startTestBridge(api.url, ['--timeout-ms', String(TIMEOUT_MS), '--on-error', onError]);
        await broken.breakIt(api);

        // Act
        const results = await askTimed(address, ['alice@example.org', 'bob@example.org', 'carol@example.org']);

        // Assess
        expect(results.map((r) => r.answer)).toEqual([expected, expected, expected]);
        for (const r of results) expect(r.ms).toBeLessThanOrEqual(ANSWER_BOUND_MS);
        const errors = logs.lines().filter((l) => l.startsWith('ERROR: API check failed'));
        expect(errors).toHaveLength(3);
        expect(errors[1]).toContain(`(${broken.failure}: `);
        expect(errors[1]).toContain(`answering ${expected}: queue_id=Qb, client=mail.example.net[192.0.2.10], sender=<alice@example.net>, recipient=<bob@example.org>`);
        expect(bridge.stats().answers.failures[broken.failure as 'timeout']).toBe(3);
        expect(bridge.stats().answers.onErrorAnswers).toBe(3);
      });
    }
  }

  it('serves real answers again as soon as the API is back, and says so once', async () => {
    // Prepare
    const api = await fakeApi();
    const { address, logs } = await startTestBridge(api.url, ['--timeout-ms', String(TIMEOUT_MS), '--on-error', 'defer']);
    api.respond(() => ({ kind: 'json', body: { action: 'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds', verdict: 'greylist', reason: 'new' } }));
    const client = await PolicyClient.connect(address);

    // Act
    await api.down();
    const whileDown = await client.request(examplePolicyRequest());
    await api.up();
    const afterwards = [await client.request(examplePolicyRequest()), await client.request(examplePolicyRequest())];
    await client.close();

    // Assess
    expect(whileDown).toBe(DEFER);
    expect(afterwards).toEqual(['DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds', 'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds']);
    expect(logs.lines().filter((l) => l.includes('API answering again'))).toEqual(['API answering again after 1 failed check(s)']);
  });

  it('answers DUNNO to a request the API refuses (4xx), even with --on-error defer, and warns with its code and field', async () => {
    // Prepare
    const api = await fakeApi();
    const { address, bridge, logs } = await startTestBridge(api.url, ['--on-error', 'defer']);
    api.respond(() => ({
      kind: 'json',
      status: 400,
      body: { error: { code: 'invalid-field', message: 'attribute client_address "mail.example.net" is not an IPv4 or IPv6 address', field: 'client_address' } },
    }));

    // Act
    const [result] = await askTimed(address, ['bob@example.org']);

    // Assess
    expect(result?.answer).toBe('DUNNO');
    expect(logs.lines()).toContain(
      'WARNING: API refused the request (HTTP 400 invalid-field, field client_address: attribute client_address "mail.example.net" is not an IPv4 or IPv6 address), answering DUNNO: queue_id=Qb, client=mail.example.net[192.0.2.10], sender=<alice@example.net>, recipient=<bob@example.org>',
    );
    expect(bridge.stats().answers).toMatchObject({ refused: 1, onErrorAnswers: 0 });
  });

  it('treats 429 (throttled) as the API failing, not as a bad request', async () => {
    // Prepare
    const api = await fakeApi();
    const { address } = await startTestBridge(api.url, ['--on-error', 'defer']);
    api.respond(() => ({ kind: 'raw', status: 429, text: 'Too Many Requests' }));

    // Act
    const [result] = await askTimed(address, ['bob@example.org']);

    // Assess
    expect(result?.answer).toBe(DEFER);
  });

  it('logs at most 20 failure lines per 10 s, then how many it left out', async () => {
    // Prepare
    const api = await fakeApi();
    const { address, bridge, logs } = await startTestBridge(api.url);
    await api.down();

    // Act
    const results = await askTimed(address, Array.from({ length: 25 }, (_, i) => `r${i}@example.org`));

    // Assess
    expect(results.every((r) => r.answer === 'DUNNO')).toBe(true);
    expect(logs.lines().filter((l) => l.startsWith('ERROR: API check failed'))).toHaveLength(20);
    expect(bridge.stats().answers.failures.connection).toBe(25);
  });
});

describe('greygate-bridge: what it sends, and its connections to the API', () => {
  it('POSTs every attribute Postfix sent except request, as JSON strings, to <api>/v1/check', async () => {
    // Prepare
    const api = await fakeApi();
    const { address } = await startTestBridge(`${api.url}/greygate/`);
    const client = await PolicyClient.connect(address);

    // Act
    const answer = await client.request({ ...examplePolicyRequest(), 'Bad-Name': 'x' });
    await client.close();

    // Assess
    expect(answer).toBe('DUNNO');
    const [sent] = api.requests;
    expect(sent?.method).toBe('POST');
    expect(sent?.path).toBe('/greygate/v1/check');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(sent?.headers.authorization).toBeUndefined();
    const { request: _request, ...expectedBody } = examplePolicyRequest();
    expect(sent?.body).toEqual(expectedBody);
  });

  it('reuses kept-alive connections for many requests', async () => {
    // Prepare
    const api = await fakeApi();
    const { address, bridge } = await startTestBridge(api.url);

    // Act: 40 requests one after another, then 4 Postfix connections at once
    await askTimed(address, Array.from({ length: 40 }, (_, i) => `r${i}@example.org`));
    await Promise.all(Array.from({ length: 4 }, () => askTimed(address, Array.from({ length: 10 }, (_, i) => `p${i}@example.org`))));

    // Assess
    expect(api.requests).toHaveLength(80);
    expect(api.connections).toBeLessThanOrEqual(5);
    expect(bridge.stats().api.connectionsOpened).toBe(api.connections);
  });

  it('retries once, within the same budget, when the API closed a kept-alive connection under a request', async () => {
    // Prepare: one request opens a connection; the next one on it is cut before any answer
    const api = await fakeApi();
    const { address, bridge } = await startTestBridge(api.url, ['--timeout-ms', String(TIMEOUT_MS)]);
    await askTimed(address, ['first@example.org']);
    api.dropNextReusedRequest();
    api.respond(() => ({ kind: 'json', body: { action: 'PREPEND X-Greylist: delayed 300 seconds', header: 'X-Greylist: delayed 300 seconds' } }));

    // Act
    const [result] = await askTimed(address, ['second@example.org']);

    // Assess
    expect(result?.answer).toBe('PREPEND X-Greylist: delayed 300 seconds');
    expect(result?.ms).toBeLessThanOrEqual(ANSWER_BOUND_MS);
    expect(bridge.stats().api.retries).toBe(1);
    expect(api.requests.map((r) => r.requestOnConnection)).toEqual([1, 2, 1]);
  });

  it('opens a new connection when the API closed an idle one', async () => {
    // Prepare
    const api = await fakeApi();
    const { address } = await startTestBridge(api.url, ['--timeout-ms', String(TIMEOUT_MS)]);
    await askTimed(address, ['first@example.org']);

    // Act
    api.closeIdleConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [result] = await askTimed(address, ['second@example.org']);

    // Assess
    expect(result?.answer).toBe('DUNNO');
    expect(api.connections).toBe(2);
  });

  it('does not retry a request cut on a fresh connection: the API may have seen it', async () => {
    // Prepare
    const api = await fakeApi();
    const { address, bridge } = await startTestBridge(api.url);
    api.respond(() => ({ kind: 'drop' }));

    // Act
    const results = await askTimed(address, ['a@example.org', 'b@example.org']);

    // Assess
    expect(results.map((r) => r.answer)).toEqual(['DUNNO', 'DUNNO']);
    expect(api.requests).toHaveLength(2);
    expect(bridge.stats().api.retries).toBe(0);
  });
});

describe('greygate-bridge: shutting down', () => {
  it('answers a request still waiting for the API when it is closed, then stops listening', async () => {
    // Prepare
    const api = await fakeApi();
    const reply: FakeReply = { kind: 'json', delayMs: 200, body: { action: 'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds' } };
    api.respond(() => reply);
    const { address, bridge } = await startTestBridge(api.url);
    const client = await PolicyClient.connect(address);

    // Act
    const answer = client.request(examplePolicyRequest());
    await waitUntil(() => api.requests.length === 1);
    const closed = bridge.close();

    // Assess
    expect(await answer).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds');
    await closed;
    await client.closed;
    await expect(PolicyClient.connect(address)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('with --exim closes each Postfix connection after its answer', async () => {
    // Prepare
    const api = await fakeApi();
    api.respond(() => PASS_REPLY);
    const { address } = await startTestBridge(api.url, ['--exim']);
    const client = await PolicyClient.connect(address);

    // Act
    const answer = await client.request(examplePolicyRequest());
    await client.closed;

    // Assess: --exim closes after the answer
    expect(answer).toBe('DUNNO');
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
