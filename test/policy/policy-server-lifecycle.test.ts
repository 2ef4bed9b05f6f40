import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PolicyServerError } from '../../policy/policy-server.ts';
import { examplePolicyRequest, PolicyClient, sendPolicyRequests } from '../support/policy-client.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { closeAllServers, deferred, RawConnection, startPolicyServer, waitFor } from './policy-server-harness.ts';

const ipv6Loopback = await new Promise<boolean>((resolve) => {
  const probe = net.createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});

let dir: TempDir;
beforeEach(async () => {
  dir = await makeTempDir('greygate-policy-');
});
afterEach(async () => {
  await closeAllServers();
  await dir.cleanup();
});

describe('policy server: listeners', () => {
  it('listens on a unix socket with the requested mode and removes the file on close', async () => {
    // Prepare
    const path = join(dir.path, 'policy.sock');

    // Act
    const { server } = await startPolicyServer({ listen: [{ kind: 'unix', path, mode: 0o660 }] });
    const mode = (await stat(path)).mode & 0o777;
    const answers = await sendPolicyRequests({ kind: 'unix', path }, [examplePolicyRequest()]);
    await server.close();

    // Assess
    expect(mode).toBe(0o660);
    expect(answers).toEqual(['DUNNO']);
    expect(server.addresses()).toEqual([`unix:${path}`]);
    expect(existsSync(path)).toBe(false);
  });

  it('serves TCP and unix listeners at once from one server', async () => {
    // Prepare
    const path = join(dir.path, 'policy.sock');
    const { server } = await startPolicyServer({
      handler: async (_attrs, info) => `DUNNO via ${info.client}`,
      listen: [
        { kind: 'inet', host: '127.0.0.1', port: 0 },
        { kind: 'unix', path },
      ],
    });
    const [tcp, unix] = server.addresses();

    // Act
    const viaTcp = await sendPolicyRequests(tcp ?? '', [examplePolicyRequest()]);
    const viaUnix = await sendPolicyRequests(unix ?? '', [examplePolicyRequest()]);

    // Assess
    expect(tcp).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(unix).toBe(`unix:${path}`);
    expect(viaTcp[0]).toMatch(/^DUNNO via 127\.0\.0\.1:\d+$/);
    expect(viaUnix).toEqual(['DUNNO via unix socket']);
  });

  it.skipIf(!ipv6Loopback)('listens on the IPv6 loopback and prints it in brackets', async () => {
    // Prepare
    const { server, address } = await startPolicyServer({ listen: [{ kind: 'inet', host: '::1', port: 0 }] });

    // Act
    const answers = await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(server.addresses()[0]).toMatch(/^\[::1\]:\d+$/);
    expect(answers).toEqual(['DUNNO']);
  });

  it('replaces a stale socket file left by a crashed process', async () => {
    // Prepare: a listener killed with SIGKILL leaves its socket file behind.
    const path = join(dir.path, 'policy.sock');
    const crashed = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise((resolve) => crashed.stdout.once('data', resolve));
    crashed.kill('SIGKILL');
    await new Promise((resolve) => crashed.once('exit', resolve));
    expect(existsSync(path)).toBe(true);

    // Act
    const { logger } = await startPolicyServer({ listen: [{ kind: 'unix', path }] });
    const answers = await sendPolicyRequests({ kind: 'unix', path }, [examplePolicyRequest()]);

    // Assess
    expect(answers).toEqual(['DUNNO']);
    expect(logger.messages('info')).toContain(`removed stale socket ${path}`);
  });

  it('refuses to take over a unix socket another process is listening on', async () => {
    // Prepare
    const path = join(dir.path, 'policy.sock');
    await startPolicyServer({ listen: [{ kind: 'unix', path }] });

    // Act
    const second = startPolicyServer({ listen: [{ kind: 'unix', path }] });

    // Assess
    await expect(second).rejects.toThrow(PolicyServerError);
    await expect(second).rejects.toMatchObject({
      code: 'ERR_POLICY_SOCKET_IN_USE',
      message: expect.stringContaining('another process is listening on it'),
    });
    expect(await sendPolicyRequests({ kind: 'unix', path }, [examplePolicyRequest()])).toEqual(['DUNNO']);
  });

  it('refuses to replace a path that is not a socket', async () => {
    // Prepare
    const path = join(dir.path, 'important.conf');
    await writeFile(path, 'keep me\n');

    // Act
    const attempt = startPolicyServer({ listen: [{ kind: 'unix', path }] });

    // Assess
    await expect(attempt).rejects.toThrow(/exists and is not a socket/);
    expect(existsSync(path)).toBe(true);
  });

  it('reports a TCP port already in use with advice', async () => {
    // Prepare
    const { address } = await startPolicyServer();
    const port = Number(address.split(':')[1]);

    // Act
    const attempt = startPolicyServer({ listen: [{ kind: 'inet', host: '127.0.0.1', port }] });

    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: 'PolicyServerError',
      code: 'ERR_POLICY_LISTEN',
      message: `cannot listen on 127.0.0.1:${port}: address already in use; is another policy server (greygate, postgrey) running?`,
    });
  });
});

describe('policy server: close()', () => {
  it('closes idle persistent connections at once instead of waiting out the drain time', async () => {
    // Prepare: a client that, like Postfix's smtpd, keeps its connection open between requests
    const { server, address } = await startPolicyServer();
    const client = await PolicyClient.connect(address);
    expect(await client.request(examplePolicyRequest())).toBe('DUNNO');

    // Act
    const started = Date.now();
    await server.close({ drainTimeoutMs: 10_000 });
    const elapsed = Date.now() - started;
    await client.closed;

    // Assess: well under the 10 s drain (the timer would have force-closed it only then)
    expect(elapsed).toBeLessThan(5_000);
  });

  it('answers a request still in the handler when close() is called, then stops accepting', async () => {
    // Prepare
    const gate = deferred<string>();
    const { server, address } = await startPolicyServer({ handler: () => gate.promise });
    const client = await PolicyClient.connect(address);
    const answer = client.request(examplePolicyRequest());
    await waitFor(() => server.stats().requestsInFlight === 1, 'the request to reach the handler');

    // Act
    const closing = server.close({ drainTimeoutMs: 5000 });
    const refused = await new Promise<boolean>((resolve) => {
      const probe = net.connect(Number(address.split(':')[1]), '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(false);
      });
      probe.once('error', () => resolve(true));
    });
    gate.resolve('DEFER_IF_PERMIT still answered');
    await closing;

    // Assess
    expect(await answer).toBe('DEFER_IF_PERMIT still answered');
    expect(refused).toBe(true);
    await client.closed;
  });

  it('ends idle connections at once instead of waiting for the drain timeout', async () => {
    // Prepare
    const { server, address } = await startPolicyServer();
    const idle = await RawConnection.connect(address);
    await waitFor(() => server.stats().connectionsOpen === 1, 'the connection to be accepted');

    // Act
    const started = Date.now();
    await server.close({ drainTimeoutMs: 10_000 });

    // Assess
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await idle.closesWithin(1000)).toBe(true);
  });

  it('force-closes connections still busy after drainTimeoutMs, with a warning', async () => {
    // Prepare
    const never = deferred<string>();
    const { server, address, logger } = await startPolicyServer({ handler: () => never.promise });
    const stuck = await PolicyClient.connect(address);
    const outcome = stuck.request(examplePolicyRequest()).then(
      (action) => `answered ${action}`,
      (err: Error) => err.message,
    );
    await waitFor(() => server.stats().requestsInFlight === 1, 'the request to reach the handler');

    // Act
    await server.close({ drainTimeoutMs: 150 });

    // Assess
    expect(await outcome).toBe('policy server closed the connection before answering');
    expect(server.stats().connectionsOpen).toBe(0);
    expect(logger.messages('warn')).toContain('policy server shutdown: force-closing 1 connection(s) still open after 150 ms');
    never.resolve('DUNNO'); // a late result must not trip over the closed socket
  });

  it('does not leave a listener behind when close() runs while listen() is still binding', async () => {
    // Prepare
    const path = join(dir.path, 'late.sock');
    const { server } = await startPolicyServer();

    // Act
    const listening = server.listen({ kind: 'unix', path });
    const outcome = listening.then(
      () => 'listening',
      (err: { code?: string }) => err.code,
    );
    await server.close();

    // Assess
    expect(await outcome).toBe('ERR_POLICY_SERVER_CLOSED');
    expect(existsSync(path)).toBe(false);
  });

  it('can be called twice and refuses new listeners afterwards', async () => {
    // Prepare
    const { server } = await startPolicyServer();

    // Act
    await Promise.all([server.close(), server.close()]);
    const relisten = server.listen({ kind: 'inet', host: '127.0.0.1', port: 0 });

    // Assess
    await expect(relisten).rejects.toMatchObject({ code: 'ERR_POLICY_SERVER_CLOSED' });
  });
});
