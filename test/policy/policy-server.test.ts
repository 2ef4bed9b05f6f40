import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyRequestInfo } from '../../policy/policy-server.ts';
import { encodePolicyRequest, examplePolicyRequest, PolicyClient, sendPolicyRequests } from '../support/policy-client.ts';
import { closeAllServers, deferred, RawConnection, startPolicyServer, waitFor, type Deferred } from './policy-server-harness.ts';

afterEach(closeAllServers);

const GREYLIST = 'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds';

describe('policy server: answering requests', () => {
  it('answers a Postfix request with action=<handler text> and an empty line, byte for byte', async () => {
    // Prepare
    const seen: Array<{ attrs: Record<string, string>; info: PolicyRequestInfo }> = [];
    const { address } = await startPolicyServer({
      handler: async (attrs, info) => {
        seen.push({ attrs: Object.fromEntries(attrs), info });
        return GREYLIST;
      },
    });
    const conn = await RawConnection.connect(address);

    // Act
    conn.write(encodePolicyRequest(examplePolicyRequest()));
    await conn.waitForText('\n\n');

    // Assess
    expect(conn.text).toBe(`action=${GREYLIST}\n\n`);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.attrs).toEqual(examplePolicyRequest());
    expect(seen[0]?.info.connectionId).toBeGreaterThan(0);
    expect(seen[0]?.info.client).toMatch(/^127\.0\.0\.1:\d+$/);
    conn.destroy();
  });

  it('keeps the connection open for request after request, as Postfix expects', async () => {
    // Prepare
    const { address, server } = await startPolicyServer({ handler: async (attrs) => `DUNNO ${attrs.get('recipient')}` });
    const client = await PolicyClient.connect(address);

    // Act
    const answers: string[] = [];
    for (const rcpt of ['a@example.org', 'b@example.org', 'c@example.org']) {
      answers.push(await client.request(examplePolicyRequest({ recipient: rcpt })));
    }

    // Assess
    expect(answers).toEqual(['DUNNO a@example.org', 'DUNNO b@example.org', 'DUNNO c@example.org']);
    expect(server.stats()).toMatchObject({ connectionsAccepted: 1, requestsAnswered: 3 });
    await client.close();
  });

  it('answers pipelined requests in request order when the handler finishes them in reverse', async () => {
    // Prepare
    const pending: Array<Deferred<string> & { rcpt: string }> = [];
    const { address } = await startPolicyServer({
      handler: (attrs) => {
        const d = { ...deferred<string>(), rcpt: attrs.get('recipient') ?? '' };
        pending.push(d);
        return d.promise;
      },
    });
    const recipients = ['r1@x', 'r2@x', 'r3@x', 'r4@x', 'r5@x'];

    // Act
    const answers = sendPolicyRequests(
      address,
      recipients.map((recipient) => examplePolicyRequest({ recipient })),
    );
    await waitFor(() => pending.length === recipients.length, 'all requests to reach the handler');
    for (const d of [...pending].reverse()) {
      d.resolve(`OK ${d.rcpt}`);
      await new Promise((resolve) => setImmediate(resolve)); // let each answer settle on its own
    }

    // Assess
    expect(await answers).toEqual(recipients.map((r) => `OK ${r}`));
  });

  it('serves 200 concurrent connections, each getting its own answer', async () => {
    // Prepare
    const { address, server } = await startPolicyServer({
      handler: async (attrs) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return `PREPEND X-Test: ${attrs.get('instance')}`;
      },
    });

    // Act
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sendPolicyRequests(address, [examplePolicyRequest({ instance: `msg-${i}` })])),
    );

    // Assess
    expect(results.map(([action]) => action)).toEqual(Array.from({ length: 200 }, (_, i) => `PREPEND X-Test: msg-${i}`));
    expect(server.stats().connectionsAccepted).toBe(200);
  });

  it('answers DUNNO to an unknown request type without calling the handler, and keeps the connection usable', async () => {
    // Prepare
    let calls = 0;
    const { address, logger, server } = await startPolicyServer({
      handler: async () => {
        calls += 1;
        return GREYLIST;
      },
    });
    const client = await PolicyClient.connect(address);

    // Act
    const unknown = await client.request(examplePolicyRequest({ request: 'junk' }));
    const missing = await client.request({ sender: 'a@x', recipient: 'b@y' });
    const normal = await client.request(examplePolicyRequest());

    // Assess
    expect([unknown, missing, normal]).toEqual(['DUNNO', 'DUNNO', GREYLIST]);
    expect(calls).toBe(1);
    expect(logger.messages('warn')).toEqual(["unrecognized request type: 'junk'", "unrecognized request type: ''"]);
    expect(server.stats().unrecognizedRequests).toBe(2);
    await client.close();
  });

  it('answers DUNNO when the handler fails, logs the cause, and keeps serving', async () => {
    // Prepare
    const { address, logger, server } = await startPolicyServer({
      handler: async (attrs) => {
        if (attrs.get('recipient') === 'boom@x') throw new Error('store unavailable: database is locked');
        return GREYLIST;
      },
    });
    const client = await PolicyClient.connect(address);

    // Act
    const failed = await client.request(examplePolicyRequest({ recipient: 'boom@x' }));
    const next = await client.request(examplePolicyRequest());

    // Assess
    expect(failed).toBe('DUNNO');
    expect(next).toBe(GREYLIST);
    expect(logger.messages('error')).toEqual(['policy handler failed, answering DUNNO: Error: store unavailable: database is locked']);
    expect(server.stats().errors).toBe(1);
    await client.close();
  });

  it('answers DUNNO when the handler throws synchronously instead of rejecting', async () => {
    // Prepare
    const { address, logger } = await startPolicyServer({
      handler: () => {
        throw new RangeError('thrown before any promise');
      },
    });

    // Act
    const answers = await sendPolicyRequests(address, [examplePolicyRequest(), examplePolicyRequest()]);

    // Assess
    expect(answers).toEqual(['DUNNO', 'DUNNO']);
    expect(logger.messages('error')[0]).toContain('RangeError: thrown before any promise');
  });

  it('never lets line breaks in the action forge protocol lines', async () => {
    // Prepare
    const { address, logger } = await startPolicyServer({
      handler: async (attrs) =>
        attrs.get('recipient') === 'evil@x' ? 'PREPEND X-Greylist: a\r\n\r\naction=OK\n\nb' : 'DUNNO',
    });
    const conn = await RawConnection.connect(address);

    // Act
    conn.write(encodePolicyRequest(examplePolicyRequest({ recipient: 'evil@x' })) + encodePolicyRequest(examplePolicyRequest()));
    await conn.waitForText('action=DUNNO\n\n');

    // Assess
    expect(conn.text).toBe('action=PREPEND X-Greylist: a    action=OK  b\n\naction=DUNNO\n\n');
    expect(logger.messages('warn')[0]).toMatch(/^policy action contained control characters/);
    conn.destroy();
  });

  it('logs garbage lines with control characters escaped, and still answers the request', async () => {
    // Prepare
    const { address, logger, server } = await startPolicyServer({ handler: async () => 'DUNNO' });
    const conn = await RawConnection.connect(address);
    const garbage = Buffer.concat([Buffer.from('GET / HTTP/1.0'), Buffer.from([0x00, 0x1b, 0x5b, 0x32, 0x4a, 0xff]), Buffer.from('\n')]);

    // Act
    conn.write(Buffer.concat([garbage, Buffer.from(`x${'y'.repeat(200)}\n`), Buffer.from(encodePolicyRequest(examplePolicyRequest()))]));
    await conn.waitForText('\n\n');

    // Assess
    expect(conn.text).toBe('action=DUNNO\n\n');
    expect(logger.messages('warn')).toEqual([
      'ignoring garbage: <GET / HTTP/1.0\\x00\\x1b[2J\ufffd>',
      `ignoring garbage: <x${'y'.repeat(99)}>`,
    ]);
    expect(server.stats().garbageLines).toBe(2);
    conn.destroy();
  });

  it('stops logging garbage from one connection after ten lines', async () => {
    // Prepare
    const { address, logger, server } = await startPolicyServer();
    const conn = await RawConnection.connect(address);

    // Act
    conn.write('junk\n'.repeat(50) + '\n');
    await conn.waitForText('\n\n');

    // Assess
    expect(logger.messages('warn').filter((m) => m.startsWith('ignoring garbage'))).toHaveLength(10);
    expect(logger.messages('warn')).toContainEqual(expect.stringMatching(/^further garbage from 127\.0\.0\.1:\d+ on this connection is not logged$/));
    expect(server.stats().garbageLines).toBe(50);
    conn.destroy();
  });

  it('answers a client that sends its request and half-closes, like `nc -N`', async () => {
    // Prepare
    const { address } = await startPolicyServer({
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return GREYLIST;
      },
    });
    const conn = await RawConnection.connect(address, { allowHalfOpen: true });

    // Act
    conn.write(encodePolicyRequest(examplePolicyRequest()));
    conn.socket.end();
    await conn.closed;

    // Assess
    expect(conn.text).toBe(`action=${GREYLIST}\n\n`);
  });

  it('in exim mode answers one request per connection, then closes', async () => {
    // Prepare
    const { address } = await startPolicyServer({ exim: true, handler: async (attrs) => `DUNNO ${attrs.get('recipient')}` });
    const conn = await RawConnection.connect(address);

    // Act
    conn.write(
      encodePolicyRequest(examplePolicyRequest({ recipient: 'first@x' })) + encodePolicyRequest(examplePolicyRequest({ recipient: 'second@x' })),
    );
    const closed = await conn.closesWithin(5000);

    // Assess
    expect(closed).toBe(true);
    expect(conn.text).toBe('action=DUNNO first@x\n\n');
  });

  it('keeps a persistent connection open when exim mode is off', async () => {
    // Prepare
    const { address } = await startPolicyServer();
    const conn = await RawConnection.connect(address);

    // Act
    conn.write(encodePolicyRequest(examplePolicyRequest()));
    await conn.waitForText('\n\n');
    const closed = await conn.closesWithin(200);

    // Assess
    expect(closed).toBe(false);
    conn.destroy();
  });

  it('answers a pipeline far longer than the per-connection limit when the handler answers at once', async () => {
    // Prepare
    const { address } = await startPolicyServer({ maxPipelinedRequests: 4, handler: async (attrs) => `DUNNO ${attrs.get('instance')}` });
    const ids = Array.from({ length: 500 }, (_, i) => `m${i}`);

    // Act
    const answers = await sendPolicyRequests(
      address,
      ids.map((instance) => examplePolicyRequest({ instance })),
      { timeoutMs: 3000 },
    );

    // Assess
    expect(answers).toEqual(ids.map((id) => `DUNNO ${id}`));
  });

  it('answers a long pipeline of unknown request types, which never reach the handler', async () => {
    // Prepare
    const { address } = await startPolicyServer({ maxPipelinedRequests: 4 });

    // Act
    const answers = await sendPolicyRequests(
      address,
      Array.from({ length: 200 }, () => ({ request: 'junk' })),
      { timeoutMs: 3000 },
    );

    // Assess
    expect(answers).toEqual(Array.from({ length: 200 }, () => 'DUNNO'));
  });

  it('limits requests in the handler per connection, yet answers a long pipeline in order', async () => {
    // Prepare
    let inHandler = 0;
    let most = 0;
    const { address } = await startPolicyServer({
      maxPipelinedRequests: 3,
      handler: async (attrs) => {
        inHandler += 1;
        most = Math.max(most, inHandler);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inHandler -= 1;
        return `DUNNO ${attrs.get('instance')}`;
      },
    });
    const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);

    // Act
    const answers = await sendPolicyRequests(
      address,
      ids.map((instance) => examplePolicyRequest({ instance })),
    );

    // Assess
    expect(answers).toEqual(ids.map((id) => `DUNNO ${id}`));
    expect(most).toBe(3);
  });
});
