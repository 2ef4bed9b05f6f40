// Time limits of the policy server: a request must be complete soon after its first byte, empty
// lines count, and only completed requests keep a connection from being idle. The limits are set
// low here so the tests are quick; the defaults are 10 s and 600 s.

import { afterEach, describe, expect, it } from 'vitest';
import { encodePolicyRequest, examplePolicyRequest, PolicyClient } from '../support/policy-client.ts';
import { closeAllServers, RawConnection, startPolicyServer } from './policy-server-harness.ts';

afterEach(closeAllServers);

/** Writes `text` one character every `everyMs` until stopped or the connection closes. */
function drip(conn: RawConnection, text: string, everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (conn.isClosed) return;
    conn.write(text[i % text.length] ?? '\n');
    i += 1;
  }, everyMs);
  return () => clearInterval(timer);
}

describe('policy server time limits', () => {
  it('closes a connection that drips a request one byte at a time once requestTimeoutMs has passed, and says so', async () => {
    // Prepare
    const { address, logger, server } = await startPolicyServer({ requestTimeoutMs: 500 });
    const slow = await RawConnection.connect(address);
    const slowPort = slow.socket.localPort;
    const good = await PolicyClient.connect(address);

    // Act: a byte every 100 ms would restart an idle timer forever.
    const stop = drip(slow, encodePolicyRequest(examplePolicyRequest()), 100);
    const closed = await slow.closesWithin(4000);
    stop();
    const answer = await good.request(examplePolicyRequest());

    // Assess
    expect(closed).toBe(true);
    expect(slow.text).toBe('');
    expect(answer).toBe('DUNNO');
    expect(server.stats().requestTimeouts).toBe(1);
    expect(logger.messages('warn')).toContainEqual(
      `closed 1 policy connection(s) that did not complete a request within 500 ms (latest from 127.0.0.1:${slowPort})`,
    );
    await good.close();
  });

  it('gives each request its own deadline, so a client sending requests in pieces for longer than that is never cut off', async () => {
    // Prepare
    const { address, server } = await startPolicyServer({ requestTimeoutMs: 500 });
    const client = await PolicyClient.connect(address);

    // Act: 8 requests over 1.6 s, each sent in two halves 100 ms apart.
    const answers: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      const wire = encodePolicyRequest(examplePolicyRequest({ instance: `i-${i}` }));
      const answer = client.expectAnswer();
      client.sendRaw(wire.slice(0, 40));
      await new Promise((resolve) => setTimeout(resolve, 100));
      client.sendRaw(wire.slice(40));
      answers.push(await answer);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Assess
    expect(answers).toEqual(Array.from({ length: 8 }, () => 'DUNNO'));
    expect(server.stats().requestTimeouts).toBe(0);
    await client.close();
  });

  it('closes a connection that sends more empty lines than maxAttributes outside a request', async () => {
    // Prepare
    const { address, logger, server } = await startPolicyServer();
    const conn = await RawConnection.connect(address);

    // Act
    conn.write('\n'.repeat(150));
    const closed = await conn.closesWithin(4000);

    // Assess
    expect(closed).toBe(true);
    expect(conn.text).toBe('');
    expect(server.stats().limitViolations).toBe(1);
    expect(logger.messages('warn')).toContainEqual(
      expect.stringMatching(/^closing policy connection from 127\.0\.0\.1:\d+: more than 100 empty lines outside a request \(limit maxAttributes=100\)$/),
    );
  });

  it('closes a connection that drips empty lines, which complete no request', async () => {
    // Prepare
    const { address, server } = await startPolicyServer({ requestTimeoutMs: 500 });
    const conn = await RawConnection.connect(address);

    // Act
    const stop = drip(conn, '\n', 100);
    const closed = await conn.closesWithin(4000);
    stop();

    // Assess
    expect(closed).toBe(true);
    expect(conn.text).toBe('');
    expect(server.stats().requestTimeouts).toBe(1);
  });

  it('still answers a request after a stray empty line, as before', async () => {
    // Prepare
    const { address } = await startPolicyServer({ requestTimeoutMs: 500 });
    const client = await PolicyClient.connect(address);

    // Act
    const first = await client.request(examplePolicyRequest());
    client.sendRaw('\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await client.request(examplePolicyRequest());

    // Assess
    expect([first, second]).toEqual(['DUNNO', 'DUNNO']);
    expect(client.unexpectedReplies).toEqual([]);
    await client.close();
  });
});
