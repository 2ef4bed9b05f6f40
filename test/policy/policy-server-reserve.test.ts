// Who gives way when the policy server is full: the connection idle longest, never one in use;
// per address, only that address's own connections; unix-socket peers share no address.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { examplePolicyRequest, PolicyClient, sendPolicyRequests } from '../support/policy-client.ts';
import { makeTempDir } from '../support/temp-dir.ts';
import { closeAllServers, deferred, RawConnection, startPolicyServer, waitFor } from './policy-server-harness.ts';

afterEach(closeAllServers);

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('policy server connection reserve', () => {
  it('at maxConnections, closes the connection idle longest for a newcomer, never one with a request in the handler', async () => {
    // Prepare: three slots, held by a connection that never sent a request, one answered a
    // moment later, and one whose request is still in the handler.
    const gate = deferred<string>();
    const { address, logger, server } = await startPolicyServer({
      maxConnections: 3,
      maxConnectionsPerAddress: 10,
      handler: (attrs) => (attrs.get('recipient') === 'slow@example.org' ? gate.promise : Promise.resolve('DUNNO')),
    });
    const silent = await RawConnection.connect(address);
    await pause(20);
    const used = await PolicyClient.connect(address);
    expect(await used.request(examplePolicyRequest())).toBe('DUNNO');
    const busy = await PolicyClient.connect(address);
    const busyAnswer = busy.request(examplePolicyRequest({ recipient: 'slow@example.org' }));
    await waitFor(() => server.stats().requestsInFlight === 1, 'the slow request to reach the handler');

    // Act
    const newcomer = await sendPolicyRequests(address, [examplePolicyRequest()]);
    const silentClosed = await silent.closesWithin(2000);
    gate.resolve('DEFER_IF_PERMIT slow');

    // Assess
    expect(newcomer).toEqual(['DUNNO']);
    expect(silentClosed).toBe(true);
    expect(await used.request(examplePolicyRequest())).toBe('DUNNO');
    expect(await busyAnswer).toBe('DEFER_IF_PERMIT slow');
    expect(server.stats()).toMatchObject({ connectionsEvicted: 1, connectionsRefused: 0 });
    expect(logger.messages('warn')).toContainEqual(
      expect.stringMatching(/^closed 1 idle or slow policy connection\(s\) to make room: maxConnections=3 reached \(latest for a new connection from 127\.0\.0\.1:\d+\)$/),
    );
    await used.close();
    await busy.close();
  });

  it('at maxConnectionsPerAddress, makes room among that address only', async () => {
    // Prepare
    const { address, server } = await startPolicyServer({ maxConnections: 10, maxConnectionsPerAddress: 2 });
    const first = await RawConnection.connect(address, { localAddress: '127.0.0.2' });
    await pause(20);
    const second = await RawConnection.connect(address, { localAddress: '127.0.0.2' });
    const other = await RawConnection.connect(address, { localAddress: '127.0.0.3' });
    await waitFor(() => server.stats().connectionsOpen === 3, 'three connections to be accepted');

    // Act
    const third = await PolicyClient.connect(address);
    const thirdAnswer = await third.request(examplePolicyRequest());
    const again = await RawConnection.connect(address, { localAddress: '127.0.0.2' });
    const firstClosed = await first.closesWithin(2000);

    // Assess
    expect(thirdAnswer).toBe('DUNNO');
    expect(firstClosed).toBe(true);
    expect([second.isClosed, other.isClosed, again.isClosed]).toEqual([false, false, false]);
    expect(server.stats().connectionsOpen).toBe(4);
    for (const conn of [second, other, again]) conn.destroy();
    await third.close();
  });

  it('applies no per-address cap to unix-socket peers, which have no address', async () => {
    // Prepare
    const dir = await makeTempDir('greygate-policy-');
    try {
      const path = join(dir.path, 'policy.sock');
      const { server } = await startPolicyServer({ maxConnectionsPerAddress: 1, listen: [{ kind: 'unix', path }] });

      // Act
      const clients = [await PolicyClient.connect({ kind: 'unix', path }), await PolicyClient.connect({ kind: 'unix', path })];
      const third = await PolicyClient.connect({ kind: 'unix', path });
      const answers = await Promise.all([...clients, third].map((c) => c.request(examplePolicyRequest())));

      // Assess
      expect(answers).toEqual(['DUNNO', 'DUNNO', 'DUNNO']);
      expect(server.stats()).toMatchObject({ connectionsOpen: 3, connectionsEvicted: 0 });
      for (const c of [...clients, third]) await c.close();
    } finally {
      await closeAllServers();
      await dir.cleanup();
    }
  });
});
