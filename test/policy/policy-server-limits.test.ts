import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePolicyRequest, examplePolicyRequest, PolicyClient, sendPolicyRequests } from '../support/policy-client.ts';
import { makeTempDir } from '../support/temp-dir.ts';
import { closeAllServers, deferred, RawConnection, startPolicyServer, waitFor, type Deferred } from './policy-server-harness.ts';

afterEach(closeAllServers);

describe('policy server: hostile and broken clients', () => {
  it('closes a connection that sends a 100 KB line, without a reply, and still serves others', async () => {
    // Prepare
    const { address, logger, server } = await startPolicyServer({ handler: async () => 'DUNNO' });
    const attacker = await RawConnection.connect(address);

    // Act
    attacker.write(`request=smtpd_access_policy\nsender=${'A'.repeat(100 * 1024)}\n\n`);
    const closed = await attacker.closesWithin(5000);
    const afterwards = await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(closed).toBe(true);
    expect(attacker.text).toBe('');
    expect(afterwards).toEqual(['DUNNO']);
    expect(logger.messages('warn')).toContainEqual(
      expect.stringMatching(/^closing policy connection from 127\.0\.0\.1:\d+: line longer than 4096 bytes \(limit maxLineBytes=4096\)$/),
    );
    expect(server.stats().limitViolations).toBe(1);
  });

  it('closes a connection whose request has more lines than maxAttributes', async () => {
    // Prepare
    const { address, logger } = await startPolicyServer({ maxAttributes: 20 });
    const conn = await RawConnection.connect(address);
    const attrs: Record<string, string> = { request: 'smtpd_access_policy' };
    for (let i = 0; i < 30; i += 1) attrs[`x_${i}`] = 'v';

    // Act
    conn.write(encodePolicyRequest(attrs));
    const closed = await conn.closesWithin(5000);

    // Assess
    expect(closed).toBe(true);
    expect(conn.text).toBe('');
    expect(logger.messages('warn')).toContainEqual(expect.stringMatching(/more than 20 lines in one request \(limit maxAttributes=20\)$/));
  });

  it('survives random binary input on many connections and keeps answering', async () => {
    // Prepare
    const { address, server } = await startPolicyServer();
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 16) & 0xff; // the low bits of this generator repeat every 256 values
    };

    // Act
    const conns = await Promise.all(Array.from({ length: 20 }, () => RawConnection.connect(address)));
    for (const conn of conns) conn.write(Buffer.from(Array.from({ length: 8192 }, random)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const conn of conns) conn.destroy();
    const afterwards = await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(afterwards).toEqual(['DUNNO']);
    expect(server.stats().garbageLines).toBeGreaterThan(0);
  });

  it('drops the answer and aborts the handler signal when the client resets before the answer', async () => {
    // Prepare
    const gate = deferred<string>();
    let aborted = false;
    const { address, server } = await startPolicyServer({
      handler: (_attrs, info) => {
        info.signal.addEventListener('abort', () => {
          aborted = true;
        });
        return gate.promise;
      },
    });
    const conn = await RawConnection.connect(address);
    conn.write(encodePolicyRequest(examplePolicyRequest()));
    await waitFor(() => server.stats().requestsInFlight === 1, 'the request to reach the handler');

    // Act
    conn.socket.resetAndDestroy();
    await waitFor(() => server.stats().connectionsOpen === 0, 'the server to see the reset');
    gate.resolve('DUNNO');
    await waitFor(() => server.stats().requestsInFlight === 0, 'the handler result to be dropped');

    // Assess
    expect(aborted).toBe(true);
    expect(server.stats().requestsAnswered).toBe(0);
    expect(await sendPolicyRequests(address, [examplePolicyRequest()])).toEqual(['DUNNO']);
  });

  it('copes with a client that closes before its answer is ready: no crash, connection cleaned up', async () => {
    // Prepare
    const gate = deferred<string>();
    const { address, server } = await startPolicyServer({ handler: () => gate.promise });
    const conn = await RawConnection.connect(address);
    conn.write(encodePolicyRequest(examplePolicyRequest()));
    await waitFor(() => server.stats().requestsInFlight === 1, 'the request to reach the handler');

    // Act: a FIN alone could be a half-close still waiting for its answer, so the server
    // learns the peer is gone only when it writes.
    conn.destroy();
    await conn.closed;
    gate.resolve('DUNNO');
    await waitFor(() => server.stats().connectionsOpen === 0, 'the server to close its side');

    // Assess
    expect(server.stats().requestsInFlight).toBe(0);
    expect(await sendPolicyRequests(address, [examplePolicyRequest()])).toEqual(['DUNNO']);
  });

  it('forgets a request cut off mid-way when its client disconnects', async () => {
    // Prepare
    let calls = 0;
    const { address, server } = await startPolicyServer({
      handler: async () => {
        calls += 1;
        return 'DUNNO';
      },
    });
    const conn = await RawConnection.connect(address);

    // Act
    conn.write('request=smtpd_access_policy\nclient_address=192.0.2.1\nsender=al');
    await waitFor(() => server.stats().connectionsOpen === 1, 'the connection to be accepted');
    conn.destroy();
    await waitFor(() => server.stats().connectionsOpen === 0, 'the server to see the close');

    // Assess
    expect(calls).toBe(0);
    expect(await sendPolicyRequests(address, [examplePolicyRequest()])).toEqual(['DUNNO']);
  });

  it('still answers after 1,000 connections were opened and abandoned', async () => {
    // Prepare
    const { address, server } = await startPolicyServer();
    const abandoned: RawConnection[] = [];

    // Act
    for (let batch = 0; batch < 10; batch += 1) {
      const conns = await Promise.all(Array.from({ length: 100 }, () => RawConnection.connect(address)));
      conns.forEach((conn, i) => {
        if (i % 2 === 0) conn.write('request=smtpd_access_policy\nsender=half'); // cut off mid-request
      });
      abandoned.push(...conns);
    }
    for (const conn of abandoned) conn.destroy();
    await waitFor(() => server.stats().connectionsOpen === 0, 'all abandoned connections to be cleaned up');
    const answer = await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(answer).toEqual(['DUNNO']);
    expect(server.stats().connectionsAccepted).toBe(1001);
  });

  it('refuses a connection when every slot is busy, names its TCP peer in the warning, and accepts again once one is answered', async () => {
    // Prepare: both slots hold a request the handler has not answered yet.
    const gate = deferred<string>();
    const { address, logger, server } = await startPolicyServer({ maxConnections: 2, maxConnectionsPerAddress: 5, handler: () => gate.promise });
    const first = await PolicyClient.connect(address);
    const second = await PolicyClient.connect(address);
    const answers = [first.request(examplePolicyRequest()), second.request(examplePolicyRequest())];
    await waitFor(() => server.stats().requestsInFlight === 2, 'both requests to reach the handler');

    // Act
    const third = await RawConnection.connect(address);
    const thirdPort = third.socket.localPort;
    const refused = await third.closesWithin(5000);
    gate.resolve('DUNNO');
    await Promise.all(answers);
    const fourth = await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(refused).toBe(true);
    expect(third.text).toBe('');
    expect(fourth).toEqual(['DUNNO']);
    expect(server.stats().connectionsRefused).toBe(1);
    expect(logger.messages('warn')).toContainEqual(
      `refused 1 policy connection(s): maxConnections=2 reached and every connection busy (latest from 127.0.0.1:${thirdPort})`,
    );
    await first.close();
    await second.close();
  });

  it('stops reading from a client that pipelines faster than requests are answered', async () => {
    // Prepare: a unix socket, whose kernel buffers are small, and a handler that never finishes.
    const dir = await makeTempDir('greygate-policy-');
    try {
      const path = join(dir.path, 'policy.sock');
      const { server } = await startPolicyServer({
        maxPipelinedRequests: 1,
        handler: () => new Promise<string>(() => {}),
        listen: [{ kind: 'unix', path }],
      });
      const flood = await RawConnection.connect({ kind: 'unix', path });
      const request = encodePolicyRequest({ request: 'smtpd_access_policy', sender: 'flood@example.net', recipient: 'x@example.org' });

      // Act
      flood.write(request.repeat(Math.ceil((4 * 1024 * 1024) / request.length)));
      await waitFor(() => server.stats().requestsInFlight === 1, 'the first request to reach the handler');
      await new Promise((resolve) => setTimeout(resolve, 300));

      // Assess: megabytes are still waiting on the client side, so the server is not buffering them.
      expect(flood.socket.writableLength).toBeGreaterThan(1024 * 1024);
      expect(server.stats().requestsInFlight).toBe(1);
      flood.destroy();
    } finally {
      await closeAllServers();
      await dir.cleanup();
    }
  });

  it('closes an idle connection after idleTimeoutMs, but not one whose request is still in the handler', async () => {
    // Prepare
    const slow: Deferred<string> = deferred();
    const { address } = await startPolicyServer({
      idleTimeoutMs: 100,
      handler: (attrs) => (attrs.get('recipient') === 'slow@x' ? slow.promise : Promise.resolve('DUNNO')),
    });
    const idle = await RawConnection.connect(address);
    const busy = await PolicyClient.connect(address);

    // Act
    const answer = busy.request(examplePolicyRequest({ recipient: 'slow@x' }));
    const idleClosed = await idle.closesWithin(3000);
    await new Promise((resolve) => setTimeout(resolve, 200)); // two more idle periods for the busy one
    slow.resolve('DEFER_IF_PERMIT slow');

    // Assess
    expect(idleClosed).toBe(true);
    expect(await answer).toBe('DEFER_IF_PERMIT slow');
    await busy.close();
  });
});
